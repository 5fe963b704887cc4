# shellcheck shell=bash disable=SC2154  # root, mode, P, B, OUT come from the caller
# gpu-env.sh — sourced, never run: the GPU machine's build environment, shared by
# scripts/gpu-check.sh and benchmarks/run.sh.
#   unpack_prefix     unpacks the carried .gpu-debs/*.deb into $P (never into /), writes
#                     patched .pc files, exports PKG_CONFIG_LIBDIR and LIBDIRS
#   configure_build   configures and builds in $B (Release; CUDA sm_90 for mode=gpu, none
#                     for mode=cpu, the emulated CUDA build for mode=emu)
# The caller sets root, mode (gpu|cpu|emu), P, B, OUT, and defines log MSG and tl SECONDS (a
# timeout capped by the caller's deadline). Optional: GPU_BUILD_TESTS=OFF skips the
# Criterion suites (no criterion .pc needed), GPU_BUILD_TARGETS="a b" builds only those,
# BUILD_LOG=FILE (default $OUT/build.log), GPU_BUILD_JOBS (cpu/emu; default 2).

# ---- 1. prefix -------------------------------------------------------------------------
unpack_prefix() {
  local n=0
  [ -d .gpu-debs ] || { log "no .gpu-debs/ (run scripts/fetch-gpu-debs.sh here and carry it)"; return 1; }
  rm -rf "$P"
  mkdir -p "$P/pc" "$P/bin"
  for f in .gpu-debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$f" "$P" || return 1
    else  # no dpkg: a .deb is an ar archive holding data.tar.*
      local tmp; tmp=$(mktemp -d)
      (cd "$tmp" && ar x "$root/$f" && tar -xf data.tar.* -C "$P") || return 1
      rm -rf "$tmp"
    fi
    n=$((n + 1))
  done
  # .pc files: real files only (Debian's openblas.pc symlink goes through /etc/alternatives,
  # which dpkg-deb -x never creates); absolute /usr paths are moved into the prefix.
  find "$P/usr" -name '*.pc' -type f | while read -r pc; do
    sed -E "s#(^|[=[:space:]]|-I|-L)/usr(/|[[:space:]]|\$)#\1$P/usr\2#g" "$pc" > "$P/pc/$(basename "$pc")"
  done
  # Criterion's .pc lists Requires.private (libgit2, nanomsg, ...) whose -dev packages we do
  # not carry; a shared-library link needs none of them.
  cat > "$P/pc/criterion.pc" <<PC
prefix=$P/usr
includedir=\${prefix}/include
libdir=\${prefix}/lib/x86_64-linux-gnu
Name: criterion
Description: Criterion (unpacked from Debian)
Version: 2.4.1
Libs: -L\${libdir} -lcriterion
Cflags: -I\${includedir}
PC
  LIBDIRS="$P/usr/lib/x86_64-linux-gnu:$P/usr/lib/x86_64-linux-gnu/openblas-pthread"
  if ! command -v pkg-config >/dev/null; then
    cat > "$P/bin/pkg-config" <<SH
#!/bin/sh
LD_LIBRARY_PATH="$P/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$P/usr/bin/pkgconf" "\$@"
SH
    chmod +x "$P/bin/pkg-config"
    export PATH="$P/bin:$PATH"
    log "using the prefix's pkgconf as pkg-config"
  fi
  # Only the prefix's .pc files: nothing resolves to a system copy by accident.
  # (No CMAKE_PREFIX_PATH: CMake would add the prefix's unpatched pkgconfig dirs in front.)
  export PKG_CONFIG_LIBDIR="$P/pc"
  unset PKG_CONFIG_PATH
  log "unpacked $n packages into $P; pkg-config yaml-0.1 -> $(pkg-config --libs yaml-0.1)"
}

# ---- 2. configure + build ----------------------------------------------------------------
# mode gpu: CUDA for sm_90 with the nvcc on PATH (or /usr/local/cuda), every core;
# mode cpu: -DCTCD_CUDA=OFF; mode emu: the emulated CUDA build, GPU_CHECK_EMU_CMAKE_ARGS
# (default -DCTCD_CUDA_EMU=ON). cpu and emu use GPU_BUILD_JOBS cores (default 2).
# The log goes to $BUILD_LOG (default $OUT/build.log). Without an unpacked prefix (LIBDIRS
# unset: emu on a machine with the Debian packages installed) no rpath is added.
configure_build() {
  local cuda_args=()
  case "$mode" in
    cpu) cuda_args=(-DCTCD_CUDA=OFF) ;;
    emu) read -ra cuda_args <<< "${GPU_CHECK_EMU_CMAKE_ARGS:--DCTCD_CUDA_EMU=ON}" ;;
    *)
      local nvcc; nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
      cuda_args=(-DCTCD_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES=90) ;;
  esac
  local blog=${BUILD_LOG:-$OUT/build.log}
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  local tests=${GPU_BUILD_TESTS:-ON} targets=()
  for t in ${GPU_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
  # DT_RPATH (not RUNPATH: --disable-new-dtags) so that libcriterion's own dependencies
  # (libgit2, nanomsg, ...) are found in the prefix too, with no LD_LIBRARY_PATH.
  local link=()
  if [ -n "${LIBDIRS:-}" ]; then
    link=(-DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags -Wl,-rpath,$LIBDIRS -Wl,-rpath-link,$LIBDIRS")
  fi
  # NCCL (the data-parallel CUDA transport, dlopen'ed at run time): the CUDA toolkit's copy,
  # else PyTorch's nvidia-nccl pip package (NCCL_ROOT for CMake, its lib for the loader).
  if [ "$mode" = gpu ] && [ ! -e /usr/local/cuda/include/nccl.h ] && [ -z "${NCCL_ROOT:-}" ]; then
    local nccl_dir
    nccl_dir=$(python3 -c 'import nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null || true)
    if [ -n "$nccl_dir" ] && [ -e "$nccl_dir/include/nccl.h" ]; then
      export NCCL_ROOT="$nccl_dir"
      export LD_LIBRARY_PATH="$nccl_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
  fi
  rm -rf "$B"
  timeout "$(tl 120)" cmake -S "$root" -B "$B" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    "${cuda_args[@]}" -DCTCD_TESTS="$tests" -DCTCD_WERROR=OFF "${link[@]}" > "$blog" 2>&1 || return 1
  local jobs; jobs=$(nproc); [ "$mode" = gpu ] || jobs=${GPU_BUILD_JOBS:-2}
  timeout "$(tl 300)" cmake --build "$B" -j "$jobs" "${targets[@]}" >> "$blog" 2>&1
}
