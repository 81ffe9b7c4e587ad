/* Parser for benchdnn-style convolution strings (see conv_desc.h). */
#include "conv_desc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 18
static const char *const keys[NKEYS] = {"mb", "g",  "ic", "ih", "iw", "oc", "oh", "ow",
                                        "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "pb", "pr"};

static int64_t *slot_at(conv_desc *d, int i)
{
    int64_t *slots[NKEYS] = {&d->mb, &d->g,  &d->ic, &d->ih, &d->iw, &d->oc, &d->oh, &d->ow,
                             &d->kh, &d->kw, &d->sh, &d->sw, &d->ph, &d->pw, &d->dh, &d->dw, &d->pb, &d->pr};
    return slots[i];
}

static int64_t *field(conv_desc *d, const char *key)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(key, keys[i]) == 0)
            return slot_at(d, i);
    return NULL;
}

int conv_desc_parse(const char *line, conv_desc *d, char *err, size_t size)
{
    const char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    memset(d, 0, sizeof *d);
    for (int i = 0; i < NKEYS; i++)
        *slot_at(d, i) = -1; /* unset */
    const char *start = p;
    while (*p && !isspace((unsigned char)*p) && *p != '#') {
        if (*p == '_') {
            p++;
            continue;
        }
        if (*p == 'n') { /* no numeric key starts with n */
            p++;
            const char *q = p;
            size_t len;
            if (*p == '"') {
                q = strchr(p + 1, '"');
                if (!q) {
                    snprintf(err, size, "unterminated name");
                    return -1;
                }
                p++;
                len = (size_t)(q - p);
                q++;
            } else {
                while (*q && !isspace((unsigned char)*q) && *q != '#')
                    q++;
                len = (size_t)(q - p);
            }
            snprintf(d->name, sizeof d->name, "%.*s", (int)len, p);
            p = q;
            continue;
        }
        static const char *const roundings[] = {"rexact", "rfloor", "rceil"};
        bool matched = false;
        for (int r = 0; r < 3 && !matched; r++)
            if (strncmp(p, roundings[r], strlen(roundings[r])) == 0) {
                d->rounding = (cly_rounding)r; /* CLY_ROUND_EXACT, _FLOOR, _CEIL in this order */
                p += strlen(roundings[r]);
                matched = true;
            }
        if (matched)
            continue;
        char key[16];
        size_t k = 0;
        while (islower((unsigned char)*p) && k + 1 < sizeof key)
            key[k++] = *p++;
        key[k] = '\0';
        int64_t *slot = field(d, key);
        if (!slot || !isdigit((unsigned char)*p)) {
            snprintf(err, size, "unknown key or missing number at '%.20s'", p - k);
            return -1;
        }
        *slot = strtoll(p, (char **)&p, 10);
    }
    snprintf(d->text, sizeof d->text, "%.*s", (int)(p - start), start);
    const char *tags = strchr(p, '#');
    if (tags) {
        d->unit = strstr(tags, "unit") != NULL;
        d->oclgrind = strstr(tags, "oclgrind") != NULL;
    }
    if (d->ic < 1 || d->ih < 1 || d->oc < 1 || d->kh < 1) {
        snprintf(err, size, "ic, ih, oc and kh are required and must be >= 1");
        return -1;
    }
    if (d->mb < 0)
        d->mb = 2;
    if (d->g < 0)
        d->g = 1;
    if (d->iw < 0)
        d->iw = d->ih;
    if (d->kw < 0)
        d->kw = d->kh;
    if (d->sh < 0)
        d->sh = 1;
    if (d->sw < 0)
        d->sw = d->sh;
    if (d->ph < 0)
        d->ph = 0;
    if (d->pw < 0)
        d->pw = d->ph;
    if (d->pb < 0)
        d->pb = d->ph;
    if (d->pr < 0)
        d->pr = d->pw;
    if (d->dh < 0)
        d->dh = 0;
    if (d->dw < 0)
        d->dw = d->dh;
    if (!d->name[0])
        snprintf(d->name, sizeof d->name, "%s", d->text);
    return 1;
}

bool conv_desc_load(const char *path, conv_desc **out, size_t *count, char *err, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, size, "cannot open %s", path);
        return false;
    }
    conv_desc *all = NULL;
    size_t n = 0, cap = 0;
    char line[512];
    int number = 0;
    bool ok = true;
    while (fgets(line, sizeof line, f)) {
        number++;
        conv_desc d;
        char msg[160];
        int r = conv_desc_parse(line, &d, msg, sizeof msg);
        if (r < 0) {
            snprintf(err, size, "%s:%d: %s", path, number, msg);
            ok = false;
            break;
        }
        if (r == 0)
            continue;
        d.line = number;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            conv_desc *grown = realloc(all, cap * sizeof *grown);
            if (!grown) {
                snprintf(err, size, "out of memory");
                ok = false;
                break;
            }
            all = grown;
        }
        all[n++] = d;
    }
    fclose(f);
    if (!ok) {
        free(all);
        return false;
    }
    *out = all;
    *count = n;
    return true;
}

cly_conv_params conv_desc_params(const conv_desc *d)
{
    return (cly_conv_params){
        .filters = d->oc,
        .size = {d->kh, d->kw},
        .stride = {d->sh, d->sw},
        .pad = {d->ph, d->pb, d->pw, d->pr},
        .dilation = {d->dh + 1, d->dw + 1},
        .groups = d->g,
        .rounding = d->rounding,
    };
}

static bool axis_out(int64_t in, int64_t f, int64_t s, int64_t p, int64_t p_hi, int64_t d, cly_rounding r,
                     int64_t *out)
{
    int64_t num = in + p + p_hi - d * (f - 1) - 1;
    if (num < 0)
        return false;
    int64_t q = num / s;
    if (num % s) {
        if (r == CLY_ROUND_EXACT)
            return false;
        if (r == CLY_ROUND_CEIL && (q + 1) * s < in + p)
            q++; /* the extra window must start inside the input or its left padding */
    }
    *out = q + 1;
    return true;
}

bool conv_desc_out(const conv_desc *d, int64_t *oh, int64_t *ow)
{
    return axis_out(d->ih, d->kh, d->sh, d->ph, d->pb, d->dh + 1, d->rounding, oh) &&
           axis_out(d->iw, d->kw, d->sw, d->pw, d->pr, d->dw + 1, d->rounding, ow);
}
