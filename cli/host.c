/* The host CPU for benchmark results (cli.h): its model and vector ISA
 * flags from /proc/cpuinfo (Linux), "unknown" where that cannot be read.
 * Recorded because OpenCL's device name need not say which CPU ran (pocl
 * names its target, "pthread-skylake-avx512"), and a CPU result only means
 * something next to the vector units it had; the load average says how
 * much else ran on a shared machine. */
#include "cli.h"

#include <string.h>

/* The flags that decide convolution speed: x86 vector ISAs (cpuinfo "flags"),
 * Arm ones (cpuinfo "Features"). */
static const char *const isa_flags[] = {
    "sse4_2",      "avx",         "avx2",        "fma",         "avx512f",     "avx512bw",   "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",    "amx_tile",    "amx_bf16",   "amx_int8",
    "asimd",       "asimdhp",     "sve",         "sve2",        "sme",
};

/* The value after "key<spaces>: " when `line` starts with key, else NULL. */
static char *cpuinfo_value(char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0 || (line[n] != ' ' && line[n] != '\t' && line[n] != ':'))
        return NULL;
    char *v = strchr(line + n, ':');
    if (!v)
        return NULL;
    v += strspn(v + 1, " \t") + 1;
    v[strcspn(v, "\n")] = '\0';
    return v;
}

/* Whether the space-separated list `flags` holds `word`. */
static bool has_word(const char *flags, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(flags, word); p; p = strstr(p + 1, word))
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

void cli_host_cpu(cli_host *h)
{
    snprintf(h->cpu_model, sizeof h->cpu_model, "unknown");
    snprintf(h->isa, sizeof h->isa, "unknown");
    h->load[0] = h->load[1] = h->load[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &h->load[0], &h->load[1], &h->load[2]) != 3)
            h->load[0] = h->load[1] = h->load[2] = -1;
        fclose(f);
    }
    f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    static char line[8192]; /* a flags line is ~1.5 KB today */
    bool model = false, flags = false;
    while ((!model || !flags) && fgets(line, sizeof line, f)) {
        char *v;
        if (!model && (v = cpuinfo_value(line, "model name")) && *v) {
            snprintf(h->cpu_model, sizeof h->cpu_model, "%s", v);
            model = true;
        } else if (!flags && ((v = cpuinfo_value(line, "flags")) || (v = cpuinfo_value(line, "Features")))) {
            size_t used = 0;
            h->isa[0] = '\0';
            for (size_t i = 0; i < sizeof isa_flags / sizeof *isa_flags; i++)
                if (has_word(v, isa_flags[i]) && used + strlen(isa_flags[i]) + 2 < sizeof h->isa)
                    used += (size_t)snprintf(h->isa + used, sizeof h->isa - used, "%s%s", used ? " " : "",
                                             isa_flags[i]);
            flags = true;
        }
    }
    fclose(f);
}

void json_host(FILE *f)
{
    cli_host h;
    cli_host_cpu(&h);
    fputs("{", f);
    json_key_str(f, "cpu_model", h.cpu_model, ", ");
    json_key_str(f, "isa", h.isa, ", \"load_average\": ");
    if (h.load[0] < 0)
        fputs("null}", f);
    else
        fprintf(f, "[%.2f, %.2f, %.2f]}", h.load[0], h.load[1], h.load[2]);
}
