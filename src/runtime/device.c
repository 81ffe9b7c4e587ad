/* Platform and device enumeration: every device of every platform, with the
 * facts `clayer devices` prints and the selector ranks by. */
#include "runtime/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cly_device_type_string(cly_device_type type)
{
    switch (type) {
    case CLY_DEVICE_GPU:
        return "GPU";
    case CLY_DEVICE_ACCELERATOR:
        return "accelerator";
    case CLY_DEVICE_CPU:
        return "CPU";
    case CLY_DEVICE_CUSTOM:
        return "custom";
    default:
        return "other";
    }
}

static void query_string(cl_device_id device, cl_device_info what, char *buf, size_t size)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(device, what, size, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[size - 1] = '\0';
}

static uint64_t query_u64(cl_device_id device, cl_device_info what, size_t width)
{
    union {
        cl_ulong u64;
        cl_uint u32;
        size_t sz;
        cl_bool b;
    } v;
    memset(&v, 0, sizeof v);
    if (clGetDeviceInfo(device, what, width, &v, NULL) != CL_SUCCESS)
        return 0;
    if (width == sizeof(cl_ulong))
        return v.u64;
    if (width == sizeof(size_t))
        return v.sz;
    return v.u32;
}

static bool has_extension(cl_device_id device, const char *ext)
{
    size_t size = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return false;
    char *all = malloc(size + 1);
    if (!all)
        return false;
    bool found = false;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, all, NULL) == CL_SUCCESS) {
        all[size] = '\0';
        size_t n = strlen(ext);
        for (const char *p = strstr(all, ext); p && !found; p = strstr(p + 1, ext))
            found = (p == all || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
    }
    free(all);
    return found;
}

cly_status cly_device_query(cl_platform_id platform, cl_device_id device, cly_device_info *info)
{
    memset(info, 0, sizeof *info);
    if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name, NULL))
        info->platform_name[0] = '\0';
    if (clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof info->platform_version, info->platform_version,
                          NULL))
        info->platform_version[0] = '\0';
    info->platform_name[sizeof info->platform_name - 1] = '\0';
    info->platform_version[sizeof info->platform_version - 1] = '\0';

    cl_device_type type = 0;
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_TYPE)");
    info->type = (type & CL_DEVICE_TYPE_GPU)           ? CLY_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? CLY_DEVICE_ACCELERATOR
                 : (type & CL_DEVICE_TYPE_CPU)         ? CLY_DEVICE_CPU
                 : (type & CL_DEVICE_TYPE_CUSTOM)      ? CLY_DEVICE_CUSTOM
                                                       : CLY_DEVICE_OTHER;

    query_string(device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    query_string(device, CL_DEVICE_NAME, info->name, sizeof info->name);
    query_string(device, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    query_string(device, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    query_string(device, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version, sizeof info->opencl_c_version);
    info->compute_units = (unsigned)query_u64(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cl_uint));
    info->clock_mhz = (unsigned)query_u64(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof(cl_uint));
    info->global_mem_bytes = query_u64(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(cl_ulong));
    info->local_mem_bytes = query_u64(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(cl_ulong));
    info->max_alloc_bytes = query_u64(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(cl_ulong));
    info->max_work_group_size = query_u64(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(size_t));
    info->preferred_vector_width_float =
        (unsigned)query_u64(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof(cl_uint));
    info->compiler_available = query_u64(device, CL_DEVICE_COMPILER_AVAILABLE, sizeof(cl_bool)) != 0;
    info->unified_memory = query_u64(device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof(cl_bool)) != 0;
    info->fp64 = has_extension(device, "cl_khr_fp64");
    info->fp16 = has_extension(device, "cl_khr_fp16");
    return CLY_SUCCESS;
}

/* Only "there is none" means no driver: CL_PLATFORM_NOT_FOUND_KHR (what
 * the ICD loader says with no vendor file) or a count of 0. Anything else
 * (CL_OUT_OF_HOST_MEMORY, ...) is a failure of its own, reported as such. */
#define CLY_PLATFORM_NOT_FOUND_KHR (-1001)

static cly_status platform_failure(cl_int err, const char *call)
{
    if (err == CL_SUCCESS || err == CLY_PLATFORM_NOT_FOUND_KHR)
        return cly_fail(NULL, CLY_ERROR_NO_PLATFORM,
                        "no OpenCL platform found (%s: %d, %s); install a driver, e.g. "
                        "`apt-get install pocl-opencl-icd` for the CPU, and check /etc/OpenCL/vendors",
                        call, (int)err, err == CL_SUCCESS ? "0 platforms" : "CL_PLATFORM_NOT_FOUND_KHR");
    return cly_fail_cl(NULL, err, "listing OpenCL platforms: %s failed", call);
}

/* pocl 3.1's first initialisation is not thread-safe (plain OpenCL shows it
 * too): two threads creating contexts at once got CL_DEVICE_NOT_FOUND, 4-8
 * crashed in clGetDeviceInfo. One process-wide lock around enumeration and
 * context set-up; both are rare and short next to what a context then does. */
static pthread_mutex_t opencl_init = PTHREAD_MUTEX_INITIALIZER;

void cly_opencl_init_lock(void)
{
    pthread_mutex_lock(&opencl_init);
}

void cly_opencl_init_unlock(void)
{
    pthread_mutex_unlock(&opencl_init);
}

static cly_status enumerate_locked(cly_device_entry **out, size_t *count);

cly_status cly_devices_enumerate(cly_device_entry **out, size_t *count)
{
    cly_opencl_init_lock();
    cly_status s = enumerate_locked(out, count);
    cly_opencl_init_unlock();
    return s;
}

static cly_status enumerate_locked(cly_device_entry **out, size_t *count)
{
    cl_uint nplat = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err != CL_SUCCESS || nplat == 0)
        return platform_failure(err, "clGetPlatformIDs (count)");
    cl_platform_id *plats = calloc(nplat, sizeof *plats);
    if (!plats)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "listing %u OpenCL platforms", nplat);
    err = clGetPlatformIDs(nplat, plats, NULL);
    if (err != CL_SUCCESS) {
        free(plats);
        return platform_failure(err, "clGetPlatformIDs");
    }

    cly_device_entry *list = NULL;
    size_t n = 0;
    cly_status status = CLY_SUCCESS;
    /* The first failure of clGetDeviceIDs other than "this platform has
     * none": reported when no platform yields a device, so that it is not
     * mistaken for CLY_ERROR_DEVICE_NOT_FOUND. */
    cl_int dev_err = CL_SUCCESS;
    cl_uint dev_err_platform = 0;
    for (cl_uint p = 0; p < nplat && status == CLY_SUCCESS; p++) {
        cl_uint ndev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (err == CL_SUCCESS && ndev > 0) {
            cl_device_id *devs = calloc(ndev, sizeof *devs);
            cly_device_entry *grown = realloc(list, (n + ndev) * sizeof *list);
            if (!devs || !grown) {
                free(devs);
                if (grown)
                    list = grown;
                status = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "listing %u devices", ndev);
                break;
            }
            list = grown;
            err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs, NULL);
            for (cl_uint d = 0; err == CL_SUCCESS && d < ndev && status == CLY_SUCCESS; d++) {
                cly_device_entry *e = &list[n];
                status = cly_device_query(plats[p], devs[d], &e->info);
                e->info.platform_index = p;
                e->info.device_index = d;
                e->platform = plats[p];
                e->device = devs[d];
                if (status == CLY_SUCCESS)
                    n++;
            }
            free(devs);
        }
        /* A platform without devices answers CL_DEVICE_NOT_FOUND: skip it. */
        if (err != CL_SUCCESS && err != CL_DEVICE_NOT_FOUND) {
            cly_log(CLY_LOG_WARN, "OpenCL platform %u: clGetDeviceIDs failed: %d (%s); its devices are left out",
                    p, (int)err, cly_cl_error_name(err));
            if (dev_err == CL_SUCCESS) {
                dev_err = err;
                dev_err_platform = p;
            }
        }
    }
    free(plats);
    if (status != CLY_SUCCESS) {
        free(list);
        return status;
    }
    if (n == 0 && dev_err != CL_SUCCESS) {
        free(list);
        return cly_fail_cl(NULL, dev_err, "listing the devices of OpenCL platform %u of %u: clGetDeviceIDs failed",
                           dev_err_platform, nplat);
    }
    if (n == 0) {
        free(list);
        return cly_fail(NULL, CLY_ERROR_DEVICE_NOT_FOUND,
                        "%u OpenCL platform(s) found, but none has a device", nplat);
    }
    *out = list;
    *count = n;
    return CLY_SUCCESS;
}

cly_status cly_devices_list(cly_device_info **out, size_t *count)
{
    if (!out || !count)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_devices_list: out and count must not be NULL");
    cly_device_entry *entries;
    size_t n;
    cly_status s = cly_devices_enumerate(&entries, &n);
    if (s != CLY_SUCCESS)
        return s;
    cly_device_info *infos = malloc(n * sizeof *infos);
    if (!infos) {
        free(entries);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "listing %zu devices", n);
    }
    for (size_t i = 0; i < n; i++)
        infos[i] = entries[i].info;
    free(entries);
    *out = infos;
    *count = n;
    return CLY_SUCCESS;
}

void cly_devices_free(cly_device_info *devices)
{
    free(devices);
}

void cly_devices_describe(const cly_device_info *devices, size_t count, char *buf, size_t size)
{
    size_t used = strlen(buf);
    for (size_t i = 0; i < count && used + 1 < size; i++) {
        const cly_device_info *d = &devices[i];
        int n = snprintf(buf + used, size - used, "\n  %u:%u  %-11s %s (%s, %s)", d->platform_index,
                         d->device_index, cly_device_type_string(d->type), d->name, d->platform_name, d->vendor);
        if (n < 0)
            break;
        used += (size_t)n < size - used ? (size_t)n : size - used - 1;
    }
}
