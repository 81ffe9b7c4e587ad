/* The unit suite's fixed cases: the figures of the notes, invalid and
 * unsupported requests, and the AUTO choice (conv_cases.c). */
#ifndef CONV_CASES_H
#define CONV_CASES_H

#include <check.h>

void add_unit_cases(Suite *suite);

#endif
