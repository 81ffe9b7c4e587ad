/* Minimal JSON output helpers for the CLI (and benchmarks/conv_bench). */
#include "cli.h"

#include <time.h>

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* A finite number, or null. */
void json_num(FILE *f, double v)
{
    if (v == v && v - v == 0)
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

/* prefix (a separator and key), then a number or null. */
void json_field(FILE *f, const char *prefix, double v)
{
    fputs(prefix, f);
    json_num(f, v);
}

void json_key_str(FILE *f, const char *key, const char *value, const char *sep)
{
    fprintf(f, "\"%s\": ", key);
    json_string(f, value);
    fputs(sep, f);
}

void json_created(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm utc;
    buf[0] = '\0';
    if (gmtime_r(&now, &utc))
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

void json_device(FILE *f, const cly_device_info *d)
{
    fputs("{\n    ", f);
    json_key_str(f, "name", d->name, ",\n    ");
    json_key_str(f, "vendor", d->vendor, ",\n    ");
    json_key_str(f, "type", cly_device_type_string(d->type), ",\n    ");
    json_key_str(f, "driver_version", d->driver_version, ",\n    ");
    json_key_str(f, "device_version", d->device_version, ",\n    ");
    json_key_str(f, "platform", d->platform_name, ",\n    ");
    json_key_str(f, "platform_version", d->platform_version, ",\n    ");
    fprintf(f, "\"compute_units\": %u,\n    \"clock_mhz\": %u,\n    \"global_mem_bytes\": %llu\n  }",
            d->compute_units, d->clock_mhz, (unsigned long long)d->global_mem_bytes);
}
