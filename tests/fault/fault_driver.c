/* The program the fault-injection runner (run_faults.py) starts once per
 * OpenCL call index under fault_shim.so: a context, a small conv + batch
 * norm + ReLU + pool + FC net (two heads, the built-in loss on a named
 * one), forward, SGD with momentum, save, load, forward, then Adam, save,
 * load for training, resume, a loss of the caller's own (training
 * forward, output gradient, backward, update), and two batches summed per
 * update. Every public call is a step: when one fails, the failure must
 * be the shim's fault (it fired during that call) and come with a
 * message, naming the layer for a pass; the driver then retries the call
 * once. A retry either succeeds, and the run goes on, or refuses with a
 * message that says the net is unusable (or, for a backward pass, that it
 * needs a new training forward): then everything is destroyed and the
 * whole sequence runs again from a fresh context. The hashes printed
 * ("hash STAGE X") must equal a clean run's bit for bit; the runner
 * compares them. Exit 0 unless an expectation above failed ("FAIL: ..."). */
#include "clayer.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 2

/* Graph A: the built-in loss on "fc" by name (two outputs, so the net
 * starts without scores and cly_net_set_training plans again). Graph B: one
 * output, the default scores. */
static const char net_a[] = "input data c=3 h=8 w=8\n"
                            "conv conv1 < data filters=4 size=3 pad=1 nobias\n"
                            "batchnorm bn1 < conv1\n"
                            "relu relu1 < bn1\n"
                            "pool pool1 < relu1 max size=2 stride=2\n"
                            "fc fc < pool1 outputs=5\n"
                            "softmax prob < fc\n"
                            "fc side < pool1 outputs=3\n";
static const char net_b[] = "input data c=3 h=8 w=8\n"
                            "conv conv1 < data filters=4 size=3 pad=1\n"
                            "batchnorm bn1 < conv1\n"
                            "relu relu1 < bn1\n"
                            "pool pool1 < relu1 max size=2 stride=2\n"
                            "fc fc < pool1 outputs=5\n"
                            "softmax prob < fc\n";
static const char *const param_layers[] = {"conv1", "bn1", "fc", "side"};

static long (*shim_calls)(void);
static int (*shim_fired)(void);
static int failures; /* expectations that did not hold */

static long calls(void)
{
    return shim_calls ? shim_calls() : 0;
}

#define FAIL(...)                                                                                                     \
    do {                                                                                                             \
        printf("FAIL: " __VA_ARGS__);                                                                                \
        printf("\n");                                                                                                \
        failures++;                                                                                                  \
    } while (0)

/* Whether a failure of a pass names where it happened: a layer ("bn1
 * (batchnorm) backward: ...") or a step of the whole net ("training: ..."). */
static int names_layer(const char *msg)
{
    static const char *const layers[] = {"data", "conv1", "bn1", "relu1", "pool1", "fc", "prob", "side"};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        size_t n = strlen(layers[i]);
        if (strncmp(msg, layers[i], n) == 0 && (msg[n] == ':' || strncmp(msg + n, " (", 2) == 0))
            return 1;
    }
    return strncmp(msg, "training: ", 10) == 0;
}

/* A call failed: it must be the injected fault, inside this call, with a
 * message; a pass's failure names the layer. */
static void check_failure(const char *name, long before, cly_status s, const char *msg)
{
    long after = calls();
    int fired_now = shim_fired && shim_fired();
    printf("step %s failed (calls %ld..%ld): %s: %s\n", name, before + 1, after, cly_status_string(s), msg);
    if (!fired_now)
        FAIL("%s failed without an injected fault", name);
    if (!msg || !*msg)
        FAIL("%s failed with an empty message", name);
    else if ((strcmp(name, "cly_net_train_batch") == 0 || strcmp(name, "cly_net_forward") == 0) && !names_layer(msg))
        FAIL("%s: the message names no layer: %s", name, msg);
}

/* The retry failed too: acceptable only as a clear refusal: the net is
 * unusable, or (a backward pass used up the forward's values) what to call
 * first. */
static void check_refusal(const char *name, cly_status s, const char *msg)
{
    printf("step %s refused on retry: %s: %s\n", name, cly_status_string(s), msg);
    bool backward = strcmp(name, "cly_net_backward") == 0;
    if (!msg || !(strstr(msg, "unusable") || (backward && strstr(msg, "call cly_net_forward_training first"))))
        FAIL("%s: the retry failed without saying the net is unusable or what to do", name);
}

enum { DONE = 0, RESTART = 1, BROKEN = 2 };

/* Run one public call; on failure check it, retry once, and give up on the
 * sequence (RESTART) when the retry refuses. `ctx` names where the message
 * is (NULL: the thread's). */
#define STEP(ctx, name, call)                                                                                         \
    do {                                                                                                             \
        long before_ = calls();                                                                                      \
        cly_status s_ = (call);                                                                                      \
        if (s_ != CLY_SUCCESS) {                                                                                     \
            const char *m_ = cly_last_error(ctx);                                                                    \
            check_failure(name, before_, s_, m_);                                                                    \
            s_ = (call);                                                                                             \
            if (s_ != CLY_SUCCESS) {                                                                                 \
                m_ = cly_last_error(ctx);                                                                            \
                check_refusal(name, s_, m_);                                                                         \
                return RESTART;                                                                                      \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

/* FNV-1a over bytes: what each stage computed, compared with a clean run. */
static unsigned long long hash_bytes(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

#define HASH0 14695981039346656037ULL

typedef struct objects {
    cly_context *ctx;
    cly_graph *ga, *gb, *gl, *gb2;
    cly_net *a, *load, *b, *b2;
} objects;

static void destroy_all(objects *o)
{
    cly_net_destroy(o->a);
    cly_net_destroy(o->load);
    cly_net_destroy(o->b);
    cly_net_destroy(o->b2);
    cly_graph_destroy(o->ga);
    cly_graph_destroy(o->gb);
    cly_graph_destroy(o->gl);
    cly_graph_destroy(o->gb2);
    cly_context_destroy(o->ctx);
    memset(o, 0, sizeof *o);
}

static float input[BATCH * 3 * 8 * 8];
static const int32_t labels[BATCH] = {1, 3};

/* Hash every parameter array of `net` (layers it lacks are skipped). */
static int hash_params(cly_context *ctx, cly_net *net, unsigned long long *h)
{
    for (size_t i = 0; i < sizeof param_layers / sizeof param_layers[0]; i++)
        for (int k = CLY_PARAM_WEIGHTS; k <= CLY_PARAM_VAR; k++) {
            int64_t count = 0;
            if (cly_net_param_count(net, param_layers[i], (cly_param_kind)k, &count) != CLY_SUCCESS || count == 0)
                continue;
            float w[1024];
            if (count > 1024)
                return BROKEN;
            STEP(ctx, "cly_net_get_param", cly_net_get_param(net, param_layers[i], (cly_param_kind)k, w, count));
            *h = hash_bytes(*h, w, (size_t)count * sizeof *w);
        }
    return DONE;
}

static int hash_output(cly_context *ctx, cly_net *net, const char *layer, int64_t count, unsigned long long *h)
{
    float out[BATCH * 8];
    STEP(ctx, "cly_net_get_output", cly_net_get_output(net, layer, out, count));
    *h = hash_bytes(*h, out, (size_t)count * sizeof *out);
    return DONE;
}

/* Two training batches; the losses join the hash. */
static int train(cly_context *ctx, cly_net *net, int batches, unsigned long long *h)
{
    for (int i = 0; i < batches; i++) {
        double loss = 0;
        STEP(ctx, "cly_net_train_batch", cly_net_train_batch(net, labels, BATCH, &loss));
        *h = hash_bytes(*h, &loss, sizeof loss);
    }
    return DONE;
}

#define SUB(call)                                                                                                     \
    do {                                                                                                             \
        int r_ = (call);                                                                                             \
        if (r_ != DONE)                                                                                              \
            return r_;                                                                                               \
    } while (0)

static int run(objects *o, const char *dir)
{
    char path_a[4096], path_b[4096];
    snprintf(path_a, sizeof path_a, "%s/a.clm", dir);
    snprintf(path_b, sizeof path_b, "%s/b.clm", dir);
    const cly_net_options train_opt = {.batch = BATCH, .mode = CLY_MODE_TRAINING};
    const cly_net_options infer_opt = {.batch = BATCH, .mode = CLY_MODE_INFERENCE};
    const int64_t in_count = (int64_t)(sizeof input / sizeof input[0]);

    STEP(NULL, "cly_context_create", cly_context_create(NULL, &o->ctx));
    cly_context *ctx = o->ctx;
    STEP(NULL, "cly_graph_parse", cly_graph_parse(net_a, sizeof net_a - 1, "net_a", &o->ga));
    STEP(NULL, "cly_graph_parse", cly_graph_parse(net_b, sizeof net_b - 1, "net_b", &o->gb));

    /* Forward on fresh parameters, then SGD with momentum. */
    unsigned long long h = HASH0;
    STEP(ctx, "cly_net_create", cly_net_create(ctx, o->ga, &train_opt, &o->a));
    STEP(ctx, "cly_net_init_params", cly_net_init_params(o->a, CLY_INIT_HE, 1));
    STEP(ctx, "cly_net_set_input", cly_net_set_input(o->a, "data", input, in_count));
    STEP(ctx, "cly_net_forward", cly_net_forward(o->a));
    SUB(hash_output(ctx, o->a, "prob", BATCH * 5, &h));
    printf("hash forward %016llx\n", h);

    h = HASH0;
    const cly_train_params sgd = {.learning_rate = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .scores = "fc"};
    STEP(ctx, "cly_net_set_training", cly_net_set_training(o->a, &sgd));
    STEP(ctx, "cly_net_set_input", cly_net_set_input(o->a, "data", input, in_count));
    SUB(train(ctx, o->a, 2, &h));
    SUB(hash_params(ctx, o->a, &h));
    printf("hash sgd %016llx\n", h);

    /* Saved and loaded for inference: the same forward. */
    h = HASH0;
    STEP(ctx, "cly_net_save", cly_net_save(o->a, path_a));
    STEP(ctx, "cly_model_load", cly_model_load(ctx, path_a, &infer_opt, &o->gl, &o->load));
    STEP(ctx, "cly_net_set_input", cly_net_set_input(o->load, "data", input, in_count));
    STEP(ctx, "cly_net_forward", cly_net_forward(o->load));
    SUB(hash_output(ctx, o->load, "prob", BATCH * 5, &h));
    SUB(hash_output(ctx, o->load, "side", BATCH * 3, &h));
    printf("hash load %016llx\n", h);

    /* Adam, saved with its moments, loaded for training and resumed. */
    h = HASH0;
    const cly_train_params adam = {.optimizer = CLY_OPTIMIZER_ADAM, .learning_rate = 0.01};
    STEP(ctx, "cly_net_create", cly_net_create(ctx, o->gb, &train_opt, &o->b));
    STEP(ctx, "cly_net_init_params", cly_net_init_params(o->b, CLY_INIT_XAVIER, 2));
    STEP(ctx, "cly_net_set_training", cly_net_set_training(o->b, &adam));
    STEP(ctx, "cly_net_set_input", cly_net_set_input(o->b, "data", input, in_count));
    SUB(train(ctx, o->b, 2, &h));
    STEP(ctx, "cly_net_save", cly_net_save(o->b, path_b));
    STEP(ctx, "cly_model_load", cly_model_load(ctx, path_b, &train_opt, &o->gb2, &o->b2));
    STEP(ctx, "cly_net_set_training", cly_net_set_training(o->b2, &adam));
    STEP(ctx, "cly_net_set_input", cly_net_set_input(o->b2, "data", input, in_count));
    SUB(train(ctx, o->b2, 1, &h));
    SUB(hash_params(ctx, o->b2, &h));
    printf("hash adam %016llx\n", h);

    /* A loss of the caller's own: training forward, output gradient,
     * backward, update; then the built-in loss's gradients alone. */
    h = HASH0;
    float y[BATCH * 5], dy[BATCH * 5], grad[64];
    STEP(ctx, "cly_net_forward_training", cly_net_forward_training(o->b2));
    STEP(ctx, "cly_net_get_output", cly_net_get_output(o->b2, "prob", y, BATCH * 5));
    for (int i = 0; i < BATCH * 5; i++)
        dy[i] = y[i] - (i % 5 == 2 ? 1.0f : 0.0f);
    STEP(ctx, "cly_net_set_output_gradient", cly_net_set_output_gradient(o->b2, "prob", dy, BATCH * 5));
    STEP(ctx, "cly_net_backward", cly_net_backward(o->b2));
    STEP(ctx, "cly_net_update", cly_net_update(o->b2));
    double loss = 0;
    STEP(ctx, "cly_net_compute_gradients", cly_net_compute_gradients(o->b2, labels, BATCH, &loss));
    STEP(ctx, "cly_net_get_gradient", cly_net_get_gradient(o->b2, "fc", CLY_PARAM_BIAS, grad, 5));
    h = hash_bytes(h, &loss, sizeof loss);
    h = hash_bytes(h, grad, 5 * sizeof *grad);
    SUB(hash_params(ctx, o->b2, &h));
    printf("hash backward %016llx\n", h);

    /* Two batches summed per update: batch gradients, their sum. */
    h = HASH0;
    const cly_train_params adam2 = {.optimizer = CLY_OPTIMIZER_ADAM, .learning_rate = 0.01, .accumulate = 2};
    STEP(ctx, "cly_net_set_training", cly_net_set_training(o->b2, &adam2));
    SUB(train(ctx, o->b2, 2, &h));
    SUB(hash_params(ctx, o->b2, &h));
    printf("hash accumulate %016llx\n", h);
    return DONE;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR (a writable folder for the model files)\n", argv[0]);
        return 2;
    }
    *(void **)&shim_calls = dlsym(RTLD_DEFAULT, "cly_fault_calls");
    *(void **)&shim_fired = dlsym(RTLD_DEFAULT, "cly_fault_fired");
    /* Small integers: exact in float, the same on every run. */
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++)
        input[i] = (float)((int)(i * 7 % 11) - 5);

    objects o = {0};
    int r = run(&o, argv[1]);
    destroy_all(&o);
    if (r == RESTART) {
        /* The fault fires once: a fresh start must now run clean. */
        printf("restart\n");
        r = run(&o, argv[1]);
        destroy_all(&o);
        if (r != DONE)
            FAIL("the fresh run after a refusal did not complete");
    } else if (r == BROKEN) {
        FAIL("a parameter array larger than the driver's buffer");
    }
    printf("calls %ld\n", calls());
    return failures ? 1 : 0;
}
