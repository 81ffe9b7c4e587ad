/* A small JSON reader (RFC 8259) for files the CLI reads back, such as
 * `clayer bench --json` output. The input is untrusted: nesting depth, size
 * and every token are checked, and errors give the line and column. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { JSON_MAX_DEPTH = 64 };

typedef struct parser {
    const char *p, *start, *end;
    char *err;
    size_t err_size;
    bool failed;
} parser;

static void where(const parser *ps, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *q = ps->start; q < at && q < ps->end; q++) {
        if (*q == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void fail(parser *ps, const char *fmt, ...) CLY_CLI_FMT(2, 3);
static void fail(parser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    int line, col;
    where(ps, ps->p, &line, &col);
    int n = snprintf(ps->err, ps->err_size, "line %d, column %d: ", line, col);
    if (n < 0 || (size_t)n >= ps->err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at ps->p (on its opening quote), decoded into a new buffer. An
 * escaped NUL is refused: the result is a C string. */
static char *parse_string(parser *ps)
{
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"') /* the decoded text is never longer than the source */
        q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(q - ps->p) + 1), *o = out;
    if (!out) {
        fail(ps, "out of memory");
        return NULL;
    }
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            fail(ps, "control character in a string");
            break;
        }
        if (c != '\\') {
            *o++ = (char)c;
            ps->p++;
            continue;
        }
        char e = ps->p[1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            *o++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            ps->p += 2;
            continue;
        }
        if (e != 'u' || q - ps->p < 6 || hex4(ps->p + 2) < 0) {
            fail(ps, "bad escape in a string");
            break;
        }
        unsigned cp = (unsigned)hex4(ps->p + 2);
        ps->p += 6;
        if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair */
            int lo = q - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' ? hex4(ps->p + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF) {
                fail(ps, "unpaired surrogate in a string");
                break;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
            ps->p += 6;
        } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail(ps, "unpaired surrogate in a string");
            break;
        }
        if (cp == 0) {
            fail(ps, "NUL character in a string");
            break;
        }
        o += put_utf8(o, cp);
    }
    if (ps->failed) {
        free(out);
        return NULL;
    }
    *o = '\0';
    ps->p = q + 1;
    return out;
}

static bool parse_number(parser *ps, double *out)
{
    const char *q = ps->p;
    if (q < ps->end && *q == '-')
        q++;
    if (q < ps->end && *q == '0')
        q++;
    else if (q < ps->end && *q >= '1' && *q <= '9')
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    else
        return fail(ps, "unexpected character '%c'", ps->p < ps->end ? *ps->p : ' '), false;
    if (q < ps->end && *q == '.') {
        if (++q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "digits expected after '.'"), false;
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "digits expected in an exponent"), false;
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    char buf[64];
    if ((size_t)(q - ps->p) >= sizeof buf)
        return fail(ps, "number too long"), false;
    memcpy(buf, ps->p, (size_t)(q - ps->p));
    buf[q - ps->p] = '\0';
    errno = 0;
    *out = strtod(buf, NULL);
    if (errno == ERANGE && (*out > 1 || *out < -1))
        return fail(ps, "number out of range"), false;
    ps->p = q;
    return true;
}

static bool parse_value(parser *ps, json_value *v, int depth);

/* Grow an array or object by one slot. */
static json_value *append(parser *ps, json_value *v, size_t *capacity, bool keyed)
{
    if (v->count == *capacity) {
        size_t cap = *capacity ? *capacity * 2 : 8;
        json_value *items = realloc(v->items, cap * sizeof *items);
        if (items)
            v->items = items;
        char **keys = keyed ? realloc(v->keys, cap * sizeof *keys) : NULL;
        if (keys)
            v->keys = keys;
        if (!items || (keyed && !keys)) {
            fail(ps, "out of memory");
            return NULL;
        }
        *capacity = cap;
    }
    json_value *slot = &v->items[v->count];
    memset(slot, 0, sizeof *slot);
    if (keyed)
        v->keys[v->count] = NULL;
    v->count++;
    return slot;
}

static bool parse_container(parser *ps, json_value *v, int depth, bool object)
{
    char close = object ? '}' : ']';
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    size_t capacity = 0;
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        json_value *slot = append(ps, v, &capacity, object);
        if (!slot)
            return false;
        skip_space(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "a key (a string) expected"), false;
            if (!(v->keys[v->count - 1] = parse_string(ps)))
                return false;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, "':' expected after a key"), false;
            ps->p++;
        }
        if (!parse_value(ps, slot, depth + 1))
            return false;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return true;
        }
        return fail(ps, "',' or '%c' expected", close), false;
    }
}

static bool parse_value(parser *ps, json_value *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(ps, "nested deeper than %d levels", JSON_MAX_DEPTH), false;
    skip_space(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input"), false;
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, v, depth, *ps->p == '{');
    case '"':
        v->type = JSON_STRING;
        return (v->string = parse_string(ps)) != NULL;
    case 't':
    case 'f':
    case 'n':
        if (literal(ps, "true") || literal(ps, "false")) {
            v->type = JSON_BOOL;
            v->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u'; /* "true", not "false" */
            return true;
        }
        if (literal(ps, "null")) {
            v->type = JSON_NULL;
            return true;
        }
        return fail(ps, "unexpected word"), false;
    default:
        v->type = JSON_NUMBER;
        return parse_number(ps, &v->number);
    }
}

static void free_value(json_value *v)
{
    free(v->string);
    for (size_t i = 0; i < v->count; i++) {
        free_value(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

void json_free(json_value *v)
{
    if (!v)
        return;
    free_value(v);
    free(v);
}

json_value *json_parse(const char *text, size_t size, char *err, size_t err_size)
{
    parser ps = {.p = text, .start = text, .end = text + size, .err = err, .err_size = err_size};
    json_value *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte-order mark */
        ps.p += 3;
    if (parse_value(&ps, v, 0)) {
        skip_space(&ps);
        if (ps.p < ps.end)
            fail(&ps, "trailing characters after the value");
    }
    if (ps.failed) {
        json_free(v);
        return NULL;
    }
    return v;
}

json_value *json_load(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    enum { LIMIT = 64 << 20 }; /* bench files of 10^5 layers take about 25 MiB */
    char *text = malloc(LIMIT + 1);
    size_t n = text ? fread(text, 1, LIMIT + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    json_value *v = NULL;
    if (!text)
        snprintf(err, err_size, "out of memory");
    else if (bad)
        snprintf(err, err_size, "read error");
    else if (n > LIMIT)
        snprintf(err, err_size, "larger than %d MiB", LIMIT >> 20);
    else if (n == 0)
        snprintf(err, err_size, "empty file");
    else
        v = json_parse(text, n, err, err_size);
    free(text);
    return v;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}
