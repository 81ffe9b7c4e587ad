/* Names of the public enums, each written once: the net-file key tables,
 * the writer, the summary and cly_conv_algo_string read them. */
#ifndef CLY_BASE_NAMES_H
#define CLY_BASE_NAMES_H

extern const char *const cly_rounding_names[];  /* cly_rounding order, NULL-terminated */
extern const char *const cly_conv_algo_names[]; /* cly_conv_algo order, NULL-terminated */
extern const char *const cly_lrn_alpha_names[]; /* cly_lrn_alpha order, NULL-terminated */
extern const char *const cly_pool_kind_names[]; /* cly_pool_kind order, NULL-terminated */

#endif
