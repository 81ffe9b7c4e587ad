/* `clayer devices [--json]`: every platform and device with its facts. */
#include "cli.h"

#include <string.h>

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static void print_text(const cly_device_info *d, size_t n, size_t best)
{
    for (size_t i = 0; i < n; i++) {
        const cly_device_info *x = &d[i];
        printf("%u:%u  %s%s\n", x->platform_index, x->device_index, x->name, i == best ? "  (default)" : "");
        printf("    type              %s\n", cly_device_type_string(x->type));
        printf("    platform          %s (%s)\n", x->platform_name, x->platform_version);
        printf("    vendor            %s\n", x->vendor);
        printf("    driver            %s\n", x->driver_version);
        printf("    OpenCL C          %s\n", x->opencl_c_version);
        printf("    compute units     %u @ %u MHz\n", x->compute_units, x->clock_mhz);
        printf("    global memory     %.0f MiB%s\n", mib(x->global_mem_bytes), x->unified_memory ? " (unified)" : "");
        printf("    local memory      %.0f KiB\n", (double)x->local_mem_bytes / 1024.0);
        printf("    max allocation    %.0f MiB\n", mib(x->max_alloc_bytes));
        printf("    max work-group    %llu\n", (unsigned long long)x->max_work_group_size);
        printf("    float vector      %u\n", x->preferred_vector_width_float);
        printf("    fp16 / fp64       %s / %s\n", x->fp16 ? "yes" : "no", x->fp64 ? "yes" : "no");
        printf("    compiler          %s\n", x->compiler_available ? "yes" : "no (binaries only)");
    }
}

static void field(const char *key, const char *value, int last)
{
    printf("      \"%s\": ", key);
    json_string(stdout, value);
    printf("%s\n", last ? "" : ",");
}

static void print_json(const cly_device_info *d, size_t n, size_t best)
{
    printf("{\n  \"clayer_version\": ");
    json_string(stdout, cly_version());
    printf(",\n  \"default\": \"%u:%u\",\n  \"devices\": [\n", d[best].platform_index, d[best].device_index);
    for (size_t i = 0; i < n; i++) {
        const cly_device_info *x = &d[i];
        printf("    {\n      \"id\": \"%u:%u\",\n      \"platform_index\": %u,\n      \"device_index\": %u,\n",
               x->platform_index, x->device_index, x->platform_index, x->device_index);
        field("type", cly_device_type_string(x->type), 0);
        field("platform", x->platform_name, 0);
        field("platform_version", x->platform_version, 0);
        field("vendor", x->vendor, 0);
        field("name", x->name, 0);
        field("driver_version", x->driver_version, 0);
        field("device_version", x->device_version, 0);
        field("opencl_c_version", x->opencl_c_version, 0);
        printf("      \"compute_units\": %u,\n      \"clock_mhz\": %u,\n", x->compute_units, x->clock_mhz);
        printf("      \"global_mem_bytes\": %llu,\n      \"local_mem_bytes\": %llu,\n",
               (unsigned long long)x->global_mem_bytes, (unsigned long long)x->local_mem_bytes);
        printf("      \"max_alloc_bytes\": %llu,\n      \"max_work_group_size\": %llu,\n",
               (unsigned long long)x->max_alloc_bytes, (unsigned long long)x->max_work_group_size);
        printf("      \"preferred_vector_width_float\": %u,\n", x->preferred_vector_width_float);
        printf("      \"unified_memory\": %s,\n      \"fp16\": %s,\n      \"fp64\": %s,\n",
               x->unified_memory ? "true" : "false", x->fp16 ? "true" : "false", x->fp64 ? "true" : "false");
        printf("      \"compiler_available\": %s,\n      \"default\": %s\n    }%s\n",
               x->compiler_available ? "true" : "false", i == best ? "true" : "false", i + 1 < n ? "," : "");
    }
    printf("  ]\n}\n");
}

/* No device to list: the same object with an empty list and the reason,
 * so a script reading stdout always gets JSON. */
static void print_json_error(const char *why)
{
    printf("{\n  \"clayer_version\": ");
    json_string(stdout, cly_version());
    printf(",\n  \"default\": null,\n  \"devices\": [],\n  \"error\": ");
    json_string(stdout, why);
    printf("\n}\n");
}

static const char devices_usage[] = "usage: clayer devices [--json]\n"
                                    "  every OpenCL platform and device, the default marked\n"
                                    "  --json  as JSON on stdout (with no platform: an empty list and \"error\")\n";

static const struct option devices_options[] = {{"json", no_argument, NULL, 'j'}, CLI_HELP_OPTION, {0}};
static const cli_command devices_command = {"devices", devices_usage, devices_options, "h"};

int cmd_devices(int argc, char **argv)
{
    int json = 0, o;
    while ((o = cli_getopt(&devices_command, argc, argv)) > 0)
        if (o == 'j')
            json = 1;
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (optind < argc)
        return cli_usage_error(&devices_command, "unexpected argument '%s'", argv[optind]);
    cly_device_info *devs;
    size_t n;
    cly_status s = cly_devices_list(&devs, &n);
    size_t best = 0;
    /* The default ignores $CLAYER_DEVICE here: this marks the library's own pick. */
    if (s == CLY_SUCCESS && (s = cly_device_select(devs, n, NULL, &best)) != CLY_SUCCESS)
        cly_devices_free(devs);
    if (s != CLY_SUCCESS) {
        if (json) {
            char why[512];
            snprintf(why, sizeof why, "%s: %s", cly_status_string(s), cly_last_error(NULL));
            print_json_error(why);
        }
        return cli_fail("devices", s, NULL);
    }
    if (json)
        print_json(devs, n, best);
    else
        print_text(devs, n, best);
    cly_devices_free(devs);
    return 0;
}
