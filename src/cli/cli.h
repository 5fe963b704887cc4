/* cli.h — subcommands of the ctcd command line (one file each). */
#ifndef CTCD_CLI_H
#define CTCD_CLI_H

int ctcd_cmd_train(int argc, char **argv);

#endif
