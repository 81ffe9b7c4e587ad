/* The IDX loader's entry point on open files, for cly_dataset_load_idx and
 * the fuzzer (fuzz/fuzz_idx.c, on fmemopen'd buffers). */
#ifndef CLY_IO_IDX_H
#define CLY_IO_IDX_H

#include <clayer.h>

#include <stdio.h>

/* cly_dataset_load_idx on two files open for reading (kept open: the
 * caller closes them), named in messages by images_name and labels_name. */
cly_status cly_idx_load_files(FILE *images, const char *images_name, FILE *labels, const char *labels_name,
                              cly_dataset **out);

#endif
