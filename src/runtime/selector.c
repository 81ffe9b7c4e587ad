/* Device selector strings ("gpu", "cpu:1", "0:1", "nvidia") and the ranking
 * that picks the default device. Grammar in clayer.h; ranking in README. */
#include "runtime/runtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SELECTOR_MAX 256

/* Lower is better: GPUs, then accelerators, then CPUs, then the rest. */
static int type_rank(cly_device_type t)
{
    return (int)t;
}

/* true when a should be preferred over b. Within one type: discrete memory
 * over unified (a discrete GPU over an integrated one), then more compute
 * units x clock, then more global memory; ties keep listing order. */
static bool better(const cly_device_info *a, const cly_device_info *b)
{
    if (type_rank(a->type) != type_rank(b->type))
        return type_rank(a->type) < type_rank(b->type);
    if (a->unified_memory != b->unified_memory)
        return !a->unified_memory;
    uint64_t ta = (uint64_t)a->compute_units * (a->clock_mhz ? a->clock_mhz : 1);
    uint64_t tb = (uint64_t)b->compute_units * (b->clock_mhz ? b->clock_mhz : 1);
    if (ta != tb)
        return ta > tb;
    return a->global_mem_bytes > b->global_mem_bytes;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

typedef enum { BY_DEFAULT, BY_TYPE, BY_TEXT, BY_PLATFORM_DEVICE } selector_kind;

typedef struct selector {
    selector_kind kind;
    cly_device_type type;
    char text[SELECTOR_MAX];
    bool indexed;
    unsigned long index;    /* N in TYPE:N and TEXT:N, D in P:D */
    unsigned long platform; /* P in P:D */
} selector;

static bool parse_index(const char *s, unsigned long *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    *out = strtoul(s, NULL, 10);
    return true;
}

static bool parse_type(const char *s, cly_device_type *out)
{
    static const struct {
        const char *name;
        cly_device_type type;
    } names[] = {{"gpu", CLY_DEVICE_GPU},
                 {"cpu", CLY_DEVICE_CPU},
                 {"accelerator", CLY_DEVICE_ACCELERATOR},
                 {"acc", CLY_DEVICE_ACCELERATOR},
                 {"custom", CLY_DEVICE_CUSTOM}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].type;
            return true;
        }
    return false;
}

static cly_status parse(const char *raw, selector *sel)
{
    memset(sel, 0, sizeof *sel);
    if (!raw)
        return CLY_SUCCESS;
    while (isspace((unsigned char)*raw))
        raw++;
    size_t len = strlen(raw);
    while (len > 0 && isspace((unsigned char)raw[len - 1]))
        len--;
    if (len >= SELECTOR_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "device selector is %zu characters long (at most %d)",
                        len, SELECTOR_MAX - 1);
    char s[SELECTOR_MAX];
    memcpy(s, raw, len);
    s[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (iscntrl((unsigned char)s[i]))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "device selector has a control character at position %zu", i);
    if (len == 0 || strcasecmp(s, "default") == 0)
        return CLY_SUCCESS;

    char *colon = strrchr(s, ':');
    if (colon) {
        *colon = '\0';
        const char *left = s, *right = colon + 1;
        if (!*left || !parse_index(right, &sel->index))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "device selector '%s:%s' is malformed: expected TYPE:N, P:D or TEXT:N with "
                            "decimal N (e.g. gpu:1, 0:1, nvidia:0)",
                            left, right);
        sel->indexed = true;
        if (parse_index(left, &sel->platform)) {
            sel->kind = BY_PLATFORM_DEVICE;
            return CLY_SUCCESS;
        }
        if (strchr(left, ':'))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "device selector '%s:%s' is malformed: at most one ':' outside a P:D pair", left,
                            right);
    }
    if (parse_type(s, &sel->type)) {
        sel->kind = BY_TYPE;
        return CLY_SUCCESS;
    }
    sel->kind = BY_TEXT;
    snprintf(sel->text, sizeof sel->text, "%s", s);
    return CLY_SUCCESS;
}

static bool matches(const selector *sel, const cly_device_info *d)
{
    switch (sel->kind) {
    case BY_DEFAULT:
        return true;
    case BY_TYPE:
        return d->type == sel->type;
    case BY_TEXT:
        /* The platform version too: pocl names itself only there
         * ("OpenCL 3.0 PoCL 3.1 ..."; its devices' vendor is the CPU's). */
        return contains_ci(d->platform_name, sel->text) || contains_ci(d->platform_version, sel->text) ||
               contains_ci(d->vendor, sel->text) || contains_ci(d->name, sel->text);
    case BY_PLATFORM_DEVICE:
        return d->platform_index == sel->platform && d->device_index == sel->index;
    }
    return false;
}

cly_status cly_device_select(const cly_device_info *devices, size_t count, const char *selector_text,
                             size_t *index)
{
    if (!devices || !index || count == 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_device_select: devices and index must not be NULL and count (%zu) must be >= 1", count);
    /* A list ("0:0,0:1") is for several devices; said so rather than
     * "malformed" when it matches nothing as a text. */
#define LIST_HINT "device selector '%s' is a list of devices; this takes one (a list is for data-parallel " \
                  "training: cly_replicas_create, clayer train --device)"
    const bool list_like = selector_text && strchr(selector_text, ',');
    selector sel;
    cly_status s = parse(selector_text, &sel);
    if (s != CLY_SUCCESS)
        return list_like ? cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, LIST_HINT, selector_text) : s;

    size_t chosen = count, seen = 0;
    for (size_t i = 0; i < count; i++) {
        if (!matches(&sel, &devices[i]))
            continue;
        if (sel.indexed && sel.kind != BY_PLATFORM_DEVICE) {
            if (seen++ == sel.index) {
                chosen = i;
                break;
            }
        } else if (chosen == count || better(&devices[i], &devices[chosen])) {
            chosen = i;
        }
    }
    if (chosen < count) {
        *index = chosen;
        return CLY_SUCCESS;
    }

    if (list_like)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, LIST_HINT, selector_text);
    char list[4096] = "";
    cly_devices_describe(devices, count, list, sizeof list);
    if (sel.indexed && sel.kind != BY_PLATFORM_DEVICE && seen > 0)
        return cly_fail(NULL, CLY_ERROR_DEVICE_NOT_FOUND,
                        "device selector '%s' asks for match %lu (0-based) but only %zu device(s) match; "
                        "devices:%s",
                        selector_text, sel.index, seen, list);
    return cly_fail(NULL, CLY_ERROR_DEVICE_NOT_FOUND, "device selector '%s' matches none of the %zu device(s):%s",
                    selector_text ? selector_text : "", count, list);
}
