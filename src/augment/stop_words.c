/* stop_words.c — the English function words that augmentation never replaces
 * (include/ctcd/augment.h: ctcd_is_stop_word).
 *
 * Written for ctcd: articles, pronouns and their possessives, auxiliary and modal verbs,
 * prepositions, conjunctions, negations, quantifiers and common adverbs of degree, time and
 * place. Negations and quantifiers matter most: replacing "not" or "all" by a "synonym" would
 * flip the meaning of NLI pairs. Contractions appear as the pieces a tokenizer leaves when it
 * splits on the apostrophe ("don", "t", "ll", "ve"). */
#include <string.h>

#include "ctcd/augment.h"

static const char *const k_stop[] = {
    /* articles, determiners, quantifiers */
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "all", "each", "every",
    "both", "either", "neither", "few", "more", "most", "other", "such", "own", "same", "much",
    "many", "several", "enough", "no", "none", "nothing", "nobody", "noone", "everyone",
    "everybody", "everything", "someone", "somebody", "something", "anyone", "anybody",
    "anything",
    /* pronouns */
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your",
    "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers",
    "herself", "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "one",
    "what", "which", "who", "whom", "whose", "whatever", "whoever",
    /* auxiliaries and modals */
    "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having",
    "do", "does", "did", "doing", "done", "will", "would", "shall", "should", "can", "could",
    "may", "might", "must", "ought",
    /* negations and contraction pieces */
    "not", "nor", "never", "cannot", "don", "doesn", "didn", "isn", "aren", "wasn", "weren",
    "hasn", "haven", "hadn", "won", "wouldn", "shouldn", "couldn", "mustn", "needn", "ain",
    "s", "t", "d", "ll", "m", "re", "ve", "o", "y",
    /* prepositions */
    "about", "above", "across", "after", "against", "along", "among", "around", "at",
    "before", "behind", "below", "beneath", "beside", "between", "beyond", "by", "down",
    "during", "except", "for", "from", "in", "inside", "into", "near", "of", "off", "on",
    "onto", "out", "outside", "over", "past", "since", "through", "throughout", "till", "to",
    "toward", "towards", "under", "until", "up", "upon", "via", "with", "within", "without",
    /* conjunctions and relative words */
    "and", "or", "but", "if", "because", "as", "while", "whether", "although", "though",
    "unless", "so", "than", "then", "once", "when", "where", "why", "how", "whereas",
    /* adverbs of degree, time, place */
    "very", "too", "also", "only", "just", "again", "further", "here", "there", "now", "ever",
    "still", "yet", "already", "even", "quite", "rather", "almost", "always", "often",
    "sometimes", "soon", "well", "instead",
};

int ctcd_is_stop_word(const char *word) {
    for (size_t i = 0; i < sizeof k_stop / sizeof k_stop[0]; i++)
        if (k_stop[i][0] == word[0] && strcmp(k_stop[i], word) == 0) return 1;
    return 0;
}
