/* Bit-identical results across refactors: every built-in net, run in a
 * fixed, seeded way, hashed (64-bit FNV-1a over the raw bytes), and compared
 * with the hashes recorded in tests/net/hashes.txt.
 *
 * Only the public API (clayer.h, plus the check helpers of test_util.h), so
 * that this file compiles unchanged against a restructured source tree.
 *
 * Each case is NET MODE ALGO:
 *   infer  batch 1, CLY_MODE_INFERENCE: cly_net_init_params(HE, 5), input
 *          from cly_test_fill (state 7), one cly_net_forward; the hash covers
 *          every graph output (is_output layers, topological order).
 *   train  batch 2 (batch norm needs two values per channel),
 *          CLY_MODE_TRAINING, SGD lr 0.01 momentum 0.9 seed 3, the same init
 *          and input, labels {1, 7 % classes}, one cly_net_train_batch; the
 *          hash covers the loss (double bytes), then, per layer in
 *          topological order, every parameter array after the update
 *          (weights, bias, BN mean and var: those whose count is > 0) and the
 *          weight and bias gradients.
 *   ALGO   auto, direct, im2col: cly_net_options.conv_algo. gemm1x1: forcing
 *          CLY_CONV_GEMM1X1 makes cly_net_create refuse every built-in net
 *          (each has a 3x3 or larger conv: CLY_ERROR_UNSUPPORTED, asserted
 *          below), and AUTO never picks gemm1x1 on a CPU (always direct
 *          there), so this case sets $CLAYER_CONV_ALGO=gemm1x1, which the
 *          README documents: gemm1x1 on the 1x1/stride-1/unpadded layers,
 *          AUTO's choice on the rest. On a CPU, auto equals direct.
 * The hash also covers the algorithm each conv layer runs
 * (cly_net_layer_algo): on pocl the three algorithms give the same bits.
 * Each array enters the hash as a tag, its layer name, kind and count, then
 * its bytes. $CLAYER_CONV_ALGO and $CLAYER_CONV_TILE change the kernels, so
 * they are cleared first (the gemm1x1 case sets the former itself).
 *
 * hashes.txt: "device KEY" starts a block (KEY: device name | driver version
 * | platform name | platform version, as cly_context_device reports them),
 * then "NET MODE ALGO HASH" lines; '#' starts a comment; a later line for the
 * same device and case overrides an earlier one. Hashes are per device:
 * pocl vectorises differently on AVX2 and AVX-512 hosts, and so do GPUs.
 *   - Device recorded: every recorded case must give its hash exactly.
 *   - Not recorded (another machine), or a case missing from the block: each
 *     case runs twice and the two hashes must be equal (determinism); the
 *     hashes and how to record are printed.
 *
 * Arguments:
 *   --all      every net in every mode with every algorithm: 96 cases, for
 *              comparing two trees once. The default (meson suite 'slow')
 *              is the 76 of default_case(): all inference, some training.
 *   --case NET:MODE:ALGO  only these cases (repeatable; "fashion:train:auto"):
 *              the binary-only suite runs a few from a kernel bundle.
 *   --record   print the block for this device to stdout (check's own report
 *              goes to stderr), to append to hashes.txt:
 *                test_hashes --record --all >> tests/net/hashes.txt
 *   --verbose  also print each array's own hash to stderr, so that two
 *              trees' outputs can be diffed to find the first layer apart.
 *
 * Each case runs in check's forked child, which creates its own context: the
 * parent reads hashes.txt but never touches OpenCL (see test_util.c). */
#include "test_util.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef CLAYER_HASHES_FILE
#error "CLAYER_HASHES_FILE must name tests/net/hashes.txt"
#endif

enum { TRAIN_BATCH = 2, MAX_CASES = 128, MAX_LINES = 1024, MAX_BLOCKS = 32, KEY_LEN = 600 };

static const char *const nets[] = {"lenet", "fashion",   "alexnet",      "alexnet-caffe", "alexnet-tv", "zfnet",
                                   "vgg16", "googlenet", "googlenet-tv", "resnet18",      "resnet34",   "resnet50"};
enum { NET_COUNT = sizeof nets / sizeof nets[0] };

static const struct {
    const char *name;
    cly_conv_algo algo; /* cly_net_options.conv_algo */
    const char *env;    /* $CLAYER_CONV_ALGO, or NULL: unset */
} algos[] = {{"auto", CLY_CONV_AUTO, NULL},
             {"direct", CLY_CONV_DIRECT, NULL},
             {"im2col", CLY_CONV_IM2COL, NULL},
             {"gemm1x1", CLY_CONV_AUTO, "gemm1x1"}};
enum { ALGO_COUNT = sizeof algos / sizeof algos[0] };

typedef struct {
    int net, algo;
    bool train;
} hash_case;

static hash_case cases[MAX_CASES];
static int case_count;
static bool record, verbose;
static int record_fd = -1; /* the real stdout in --record mode */

/* hashes.txt, read by the parent before any test forks. */
static char keys[MAX_BLOCKS][KEY_LEN];
static int block_count;
static struct {
    int block;
    char net[32], mode[8], algo[16], hash[24];
} lines[MAX_LINES];
static int line_count;

/* Default (CI) set. Measured on the 2-core CPU (pocl 3.1, AVX-512), warm
 * kernel cache, one run per case: all 48 inference cases 89 s; training
 * lenet and fashion 0.4 s each (all four algorithms), googlenet 8 s,
 * googlenet-tv 9 s, resnet18 11 s, resnet34 12 s, alexnet, alexnet-caffe and
 * alexnet-tv 15-16 s each, resnet50 17 s, zfnet 21 s, vgg16 47 s; --all is
 * about 4 min, twice that where two runs are compared. The default keeps
 * every inference case and trains the nets whose layers differ most
 * (alexnet-caffe: groups, LRN, dropout, big FCs; the googlenets: concat,
 * LRN or BN; resnet18 and resnet50: BN, add, strided and 1x1 stride-1
 * convs, the latter for gemm1x1): about 2.5 min, 5 when run twice. --all
 * adds the training of alexnet, alexnet-tv, zfnet, vgg16 and resnet34. */
static bool default_case(int net, bool train)
{
    static const char *const trained[] = {"lenet",        "fashion",  "alexnet-caffe", "googlenet",
                                          "googlenet-tv", "resnet18", "resnet50"};
    if (!train)
        return true;
    for (size_t i = 0; i < sizeof trained / sizeof trained[0]; i++)
        if (!strcmp(nets[net], trained[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------- hashing */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

static const char *const kind_names[] = {"weights", "bias", "mean", "var"};

/* Add one array (tag, layer, kind, count, then the bytes) to *h. */
static void hash_array(uint64_t *h, const hash_case *c, const char *tag, const char *layer, int kind,
                       const void *data, int64_t count, size_t elem)
{
    const char *kname = kind < 0 ? "-" : kind_names[kind];
    *h = fnv1a(*h, tag, strlen(tag) + 1);
    *h = fnv1a(*h, layer, strlen(layer) + 1);
    *h = fnv1a(*h, kname, strlen(kname) + 1);
    *h = fnv1a(*h, &count, sizeof count);
    *h = fnv1a(*h, data, (size_t)count * elem);
    if (verbose)
        fprintf(stderr, "  %s %s %s: %s %s %s n=%" PRId64 " %016" PRIx64 "\n", nets[c->net],
                c->train ? "train" : "infer", algos[c->algo].name, tag, layer, kname, count,
                fnv1a(FNV_OFFSET, data, (size_t)count * elem));
}

/* -------------------------------------------------------------- a case */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xmalloc(int64_t count, size_t elem)
{
    void *p = malloc((size_t)(count > 0 ? count : 1) * elem);
    ck_assert_msg(p != NULL, "out of host memory (%" PRId64 " x %zu bytes)", count, elem);
    return p;
}

#define CALL(what, call) \
    do { \
        cly_status s_ = (call); \
        ck_assert_msg(s_ == CLY_SUCCESS, "%s %s: %s: %s: %s", nets[c->net], algos[c->algo].name, what, \
                      cly_status_string(s_), cly_last_error(ctx)); \
    } while (0)

/* Build, run and hash one case on `ctx`. */
static uint64_t run_case(cly_context *ctx, const hash_case *c)
{
    if (algos[c->algo].env)
        setenv("CLAYER_CONV_ALGO", algos[c->algo].env, 1);
    else
        unsetenv("CLAYER_CONV_ALGO");
    cly_graph *g;
    ck_assert_msg(cly_graph_builtin(nets[c->net], &g) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_net_options opt = {.batch = c->train ? TRAIN_BATCH : 1,
                           .mode = c->train ? CLY_MODE_TRAINING : CLY_MODE_INFERENCE,
                           .conv_algo = algos[c->algo].algo};
    cly_net *net;
    CALL("cly_net_create", cly_net_create(ctx, g, &opt, &net));
    if (c->train)
        CALL("cly_net_set_training",
             cly_net_set_training(net, &(cly_train_params){.loss = CLY_LOSS_SOFTMAX_XENT,
                                                           .optimizer = CLY_OPTIMIZER_SGD,
                                                           .learning_rate = 0.01,
                                                           .momentum = 0.9,
                                                           .seed = 3}));
    CALL("cly_net_init_params", cly_net_init_params(net, CLY_INIT_HE, 5));

    /* Inputs (every INPUT layer, topological order, one fill stream), the
     * class count (the depth of the last graph output), and into the hash
     * the algorithm each conv runs: on pocl direct, im2col and gemm1x1 give
     * the same bits (each sums its reduction in the same order), so only
     * this tells the cases apart and catches a lost conv_algo option. */
    const size_t layers = cly_graph_layer_count(g);
    uint64_t h = FNV_OFFSET, state = 7;
    int64_t classes = 0;
    for (size_t i = 0; i < layers; i++) {
        cly_layer_info li;
        CALL("cly_graph_layer_info", cly_graph_layer_info(g, i, &li));
        if (li.is_output)
            classes = li.output.c;
        if (li.type == CLY_LAYER_CONV) {
            const char *a = cly_conv_algo_string(cly_net_layer_algo(net, li.name));
            hash_array(&h, c, "algo", li.name, -1, a, (int64_t)strlen(a), 1);
        }
        if (li.type != CLY_LAYER_INPUT)
            continue;
        float *x = xmalloc(li.activations, sizeof *x);
        cly_test_fill(x, (size_t)li.activations, 2, &state);
        CALL("cly_net_set_input", cly_net_set_input(net, li.name, x, li.activations));
        free(x);
    }
    ck_assert_msg(classes > 1, "%s: no graph output with classes", nets[c->net]);

    if (!c->train) {
        CALL("cly_net_forward", cly_net_forward(net));
        for (size_t i = 0; i < layers; i++) {
            cly_layer_info li;
            CALL("cly_graph_layer_info", cly_graph_layer_info(g, i, &li));
            if (!li.is_output)
                continue;
            float *y = xmalloc(li.activations, sizeof *y);
            CALL("cly_net_get_output", cly_net_get_output(net, li.name, y, li.activations));
            hash_array(&h, c, "output", li.name, -1, y, li.activations, sizeof *y);
            free(y);
        }
    } else {
        const int32_t labels[TRAIN_BATCH] = {1, (int32_t)(7 % classes)};
        double loss = 0;
        CALL("cly_net_train_batch", cly_net_train_batch(net, labels, TRAIN_BATCH, &loss));
        ck_assert_int_eq(cly_net_updates(net), 1);
        hash_array(&h, c, "loss", "-", -1, &loss, 1, sizeof loss);
        for (size_t i = 0; i < layers; i++) {
            cly_layer_info li;
            CALL("cly_graph_layer_info", cly_graph_layer_info(g, i, &li));
            for (int k = CLY_PARAM_WEIGHTS; k <= CLY_PARAM_VAR; k++) {
                int64_t n = 0;
                CALL("cly_net_param_count", cly_net_param_count(net, li.name, (cly_param_kind)k, &n));
                if (n <= 0)
                    continue;
                float *p = xmalloc(n, sizeof *p);
                CALL("cly_net_get_param", cly_net_get_param(net, li.name, (cly_param_kind)k, p, n));
                hash_array(&h, c, "param", li.name, k, p, n, sizeof *p);
                /* Gradients exist for weights and bias (BN: scale, shift). */
                if (k <= CLY_PARAM_BIAS) {
                    CALL("cly_net_get_gradient", cly_net_get_gradient(net, li.name, (cly_param_kind)k, p, n));
                    hash_array(&h, c, "grad", li.name, k, p, n, sizeof *p);
                }
                free(p);
            }
        }
    }
    cly_net_destroy(net);
    cly_graph_destroy(g);
    unsetenv("CLAYER_CONV_ALGO");
    return h;
}

/* "name | driver | platform name | platform version", tabs and newlines
 * flattened so that it fits on the header line. */
static void device_key(cly_context *ctx, char *key, size_t size)
{
    const cly_device_info *d = cly_context_device(ctx);
    snprintf(key, size, "%s | %s | %s | %s", d->name, d->driver_version, d->platform_name, d->platform_version);
    for (char *p = key; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    for (size_t n = strlen(key); n > 0 && key[n - 1] == ' ';)
        key[--n] = '\0';
}

static const char *recorded(const char *key, const hash_case *c)
{
    const char *found = NULL;
    for (int i = 0; i < line_count; i++)
        if (!strcmp(keys[lines[i].block], key) && !strcmp(lines[i].net, nets[c->net]) &&
            !strcmp(lines[i].mode, c->train ? "train" : "infer") && !strcmp(lines[i].algo, algos[c->algo].name))
            found = lines[i].hash;
    return found;
}

START_TEST(hash_matches)
{
    const hash_case *c = &cases[_i];
    const char *mode = c->train ? "train" : "infer";
    cly_context *ctx = cly_test_context();
    char key[KEY_LEN];
    device_key(ctx, key, sizeof key);
    if (record && _i == 0)
        dprintf(record_fd, "device %s\n", key);

    /* Forcing gemm1x1 on every conv is refused: each net has larger filters. */
    if (!strcmp(algos[c->algo].name, "gemm1x1") && !c->train) {
        cly_graph *g;
        cly_net *net = NULL;
        ck_assert(cly_graph_builtin(nets[c->net], &g) == CLY_SUCCESS);
        cly_net_options o = {.batch = 1, .conv_algo = CLY_CONV_GEMM1X1};
        ck_assert_int_eq(cly_net_create(ctx, g, &o, &net), CLY_ERROR_UNSUPPORTED);
        cly_graph_destroy(g);
    }

    double t0 = now_s();
    char got[24];
    snprintf(got, sizeof got, "%016" PRIx64, run_case(ctx, c));
    double t1 = now_s();
    const char *want = recorded(key, c);
    if (record) {
        dprintf(record_fd, "%s %s %s %s\n", nets[c->net], mode, algos[c->algo].name, got);
        fprintf(stderr, "%-13s %s %-7s %s recorded (%.1f s)\n", nets[c->net], mode, algos[c->algo].name, got,
                t1 - t0);
    } else if (want) {
        fprintf(stderr, "%-13s %s %-7s %s %s (%.1f s)\n", nets[c->net], mode, algos[c->algo].name, got,
                strcmp(got, want) ? "MISMATCH" : "ok", t1 - t0);
        ck_assert_msg(!strcmp(got, want), "%s %s %s: hash %s, recorded %s (device %s)", nets[c->net], mode,
                      algos[c->algo].name, got, want, key);
    } else {
        char again[24];
        snprintf(again, sizeof again, "%016" PRIx64, run_case(ctx, c));
        fprintf(stderr, "%-13s %s %-7s %s %s (not recorded; run twice, %.1f s each)\n", nets[c->net], mode,
                algos[c->algo].name, got, strcmp(got, again) ? again : "deterministic", t1 - t0);
        ck_assert_msg(!strcmp(got, again), "%s %s %s: two runs differ: %s then %s (device %s)", nets[c->net], mode,
                      algos[c->algo].name, got, again, key);
    }
    cly_context_destroy(ctx);
}
END_TEST

/* Whether some block is recorded for a device key is only known in a child
 * (the key needs OpenCL), so the note on recording is printed always. */
static void read_hashes(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read it; every case checks determinism only\n", path);
        return;
    }
    char buf[KEY_LEN + 16];
    for (int lineno = 1; fgets(buf, sizeof buf, f); lineno++) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (!buf[0] || buf[0] == '#')
            continue;
        if (!strncmp(buf, "device ", 7)) {
            if (block_count == MAX_BLOCKS) {
                fprintf(stderr, "%s:%d: more than %d device blocks\n", path, lineno, MAX_BLOCKS);
                exit(1);
            }
            buf[KEY_LEN - 1 + 7] = '\0'; /* keys are at most KEY_LEN - 1 characters */
            memcpy(keys[block_count++], buf + 7, strlen(buf + 7) + 1);
            continue;
        }
        if (block_count == 0 || line_count == MAX_LINES ||
            sscanf(buf, "%31s %7s %15s %23s", lines[line_count].net, lines[line_count].mode, lines[line_count].algo,
                   lines[line_count].hash) != 4) {
            fprintf(stderr, "%s:%d: not 'NET MODE ALGO HASH' inside a device block: %s\n", path, lineno, buf);
            exit(1);
        }
        lines[line_count++].block = block_count - 1;
    }
    fclose(f);
}

/* "NET:MODE:ALGO" into the case list; false if any part is unknown. */
static bool add_case(const char *spec)
{
    char net[64], mode[16], algo[16];
    if (sscanf(spec, "%63[^:]:%15[^:]:%15s", net, mode, algo) != 3 || case_count == MAX_CASES)
        return false;
    hash_case c = {.net = -1, .algo = -1, .train = !strcmp(mode, "train")};
    for (int n = 0; n < NET_COUNT; n++)
        if (!strcmp(nets[n], net))
            c.net = n;
    for (int a = 0; a < ALGO_COUNT; a++)
        if (!strcmp(algos[a].name, algo))
            c.algo = a;
    if (c.net < 0 || c.algo < 0 || (!c.train && strcmp(mode, "infer")))
        return false;
    cases[case_count++] = c;
    return true;
}

int main(int argc, char **argv)
{
    bool all = false, chosen = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--case") && i + 1 < argc) {
            chosen = true;
            if (!add_case(argv[++i])) {
                fprintf(stderr, "%s: --case %s: not NET:infer|train:ALGO of known names\n", argv[0], argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--all"))
            all = true;
        else if (!strcmp(argv[i], "--record"))
            record = true;
        else if (!strcmp(argv[i], "--verbose"))
            verbose = true;
        else {
            fprintf(stderr, "usage: %s [--all | --case NET:MODE:ALGO...] [--record] [--verbose]\n", argv[0]);
            return 2;
        }
    }
    cly_test_require_device();
    /* Both select kernels; the cases must run with the library's defaults. */
    unsetenv("CLAYER_CONV_ALGO");
    unsetenv("CLAYER_CONV_TILE");
    read_hashes(CLAYER_HASHES_FILE);
    _Static_assert(2 * NET_COUNT * ALGO_COUNT <= MAX_CASES, "MAX_CASES too small");
    for (int train = 0; train <= 1; train++)
        for (int n = 0; n < NET_COUNT; n++)
            for (int a = 0; a < ALGO_COUNT; a++)
                if (!chosen && (all || default_case(n, train)))
                    cases[case_count++] = (hash_case){.net = n, .algo = a, .train = train};
    if (record) {
        /* The block goes to the real stdout; everything else to stderr. */
        fflush(stdout);
        record_fd = dup(STDOUT_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
    } else {
        fprintf(stderr,
                "%d cases%s; hashes from %s (%d device blocks). A device without a block checks that two runs "
                "agree; to record one: %s --record --all >> %s\n",
                case_count, all ? " (--all)" : "", CLAYER_HASHES_FILE, block_count, argv[0], CLAYER_HASHES_FILE);
    }
    Suite *s = suite_create("hashes");
    TCase *tc = tcase_create("hashes");
    tcase_set_timeout(tc, 3600); /* one case: VGG-16 im2col training, twice, on 2 cores */
    tcase_add_loop_test(tc, hash_matches, 0, case_count);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
