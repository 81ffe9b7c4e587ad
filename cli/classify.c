/* `clayer classify MODEL IMAGE...`: images in, classes out. Every image is
 * decoded and preprocessed (torchvision's ImageNet evaluation transform,
 * cly_image_preprocess) before the net runs, so a missing or broken image
 * fails fast, naming the file; then batches go through the net and each
 * image gets its top K classes. MODEL is resolved by load_model's table of
 * forms: one more format is one more row. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char classify_usage[] =
    "usage: clayer classify MODEL IMAGE... [--top K] [--labels FILE] [--json] [--batch N]\n"
    "       [--device SEL] [--seed N] [--resize S] [--crop HxW] [--mean R,G,B] [--std R,G,B]\n"
    "  MODEL: a model file or an ONNX model (MODEL.onnx), with their weights, or a net\n"
    "  file or built-in name (seeded weights, --seed, for trying things out); its\n"
    "  input must be 3 x H x W and its output class scores C x 1 x 1 (a softmax is\n"
    "  applied unless the net ends in one)\n"
    "  IMAGE: PNG or JPEG; resized (shorter side to S, PIL's bilinear), centre-cropped\n"
    "  to the net's input H x W, scaled to [0, 1] and normalised, as torchvision's\n"
    "  ImageNet evaluation transform does\n"
    "  --top K: classes per image (default 5)   --labels FILE: one class name a line\n"
    "  --json: JSON on stdout   --batch N: images per forward pass (default min(images, 8))\n"
    "  --resize S: default 256 for a 224 x 224 input (the crop's shorter side x 256/224)\n"
    "  --crop HxW: change a net file's input size to H x W (a model's must match)\n"
    "  --mean, --std: per channel, default 0.485,0.456,0.406 and 0.229,0.224,0.225\n";

typedef struct classify_opts {
    const char *model, *labels, *selector;
    const char **images;
    int image_count;
    long long top, batch, seed, resize, crop_h, crop_w;
    bool json;
    float mean[3], std[3];
    bool have_mean, have_std;
} classify_opts;

/* What classify needs of the net. */
typedef struct classify_net {
    cly_graph *g;
    cly_net *net;
    const char *form;     /* "model file", "ONNX model", "net file", "built-in net" */
    const char *input, *output;
    int64_t h, w, classes;
    bool softmax;         /* the output is a softmax already */
    bool seeded;          /* seeded weights, not trained ones */
} classify_net;

/* "a,b,c" into three floats. */
static int parse_triple(const char *flag, const char *text, float v[3])
{
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        double d = strtod(p, &end);
        if (end == p || *p == ' ' || *p == '\t' || !isfinite(d) || *end != (i < 2 ? ',' : '\0')) {
            fprintf(stderr, "clayer classify: %s expects three numbers R,G,B, got '%s'\n", flag, text);
            return 0;
        }
        v[i] = (float)d;
        p = end + 1;
    }
    return 1;
}

/* "HxW" or "S" (square). */
static int parse_crop(const char *text, long long *h, long long *w)
{
    char *end;
    *h = strtoll(text, &end, 10);
    *w = *h;
    bool digit = *text >= '0' && *text <= '9';
    if (*end == 'x') {
        digit &= end[1] >= '0' && end[1] <= '9'; /* no sign or space after the x either */
        *w = strtoll(end + 1, &end, 10);
    }
    if (!digit || *end != '\0' || *h < 1 || *w < 1 || *h > CLY_IMAGE_SIDE_MAX || *w > CLY_IMAGE_SIDE_MAX) {
        fprintf(stderr, "clayer classify: --crop expects HxW (e.g. 224x224), got '%s'\n", text);
        return 0;
    }
    return 1;
}

static const struct option classify_options[] = {{"top", required_argument, NULL, 't'},
                                                 {"batch", required_argument, NULL, 'b'},
                                                 {"seed", required_argument, NULL, 's'},
                                                 {"resize", required_argument, NULL, 'r'},
                                                 {"crop", required_argument, NULL, 'c'},
                                                 {"mean", required_argument, NULL, 'm'},
                                                 {"std", required_argument, NULL, 'S'},
                                                 {"labels", required_argument, NULL, 'l'},
                                                 {"device", required_argument, NULL, 'd'},
                                                 {"json", no_argument, NULL, 'j'},
                                                 CLI_HELP_OPTION,
                                                 {0}};
static const cli_command classify_command = {"classify", classify_usage, classify_options, "h"};

/* 0; -1 after printing the help; else the exit code after saying why. */
static int parse_args(int argc, char **argv, classify_opts *o)
{
    int opt, ok = 1;
    while (ok && (opt = cli_getopt(&classify_command, argc, argv)) > 0) {
        switch (opt) {
        case 't': ok = cli_parse_int("classify", "--top", optarg, 1, 100000, &o->top); break;
        case 'b': ok = cli_parse_int("classify", "--batch", optarg, 1, 4096, &o->batch); break;
        case 's': ok = cli_parse_int("classify", "--seed", optarg, 0, INT64_MAX, &o->seed); break;
        case 'r': ok = cli_parse_int("classify", "--resize", optarg, 1, CLY_IMAGE_SIDE_MAX, &o->resize); break;
        case 'c': ok = parse_crop(optarg, &o->crop_h, &o->crop_w); break;
        case 'm': ok = o->have_mean = parse_triple("--mean", optarg, o->mean); break;
        case 'S':
            ok = o->have_std = parse_triple("--std", optarg, o->std);
            for (int c = 0; ok && c < 3; c++)
                if (o->std[c] == 0) {
                    fprintf(stderr, "clayer classify: --std %s: a standard deviation of 0\n", optarg);
                    ok = 0;
                }
            break;
        case 'l': o->labels = optarg; break;
        case 'd': o->selector = optarg; break;
        case 'j': o->json = true; break;
        }
    }
    if (!ok)
        return EXIT_USAGE;
    if (opt != CLI_OPT_END)
        return opt == CLI_OPT_HELP ? -1 : EXIT_USAGE;
    if (optind >= argc)
        return cli_usage_error(&classify_command, "no MODEL given");
    if (optind + 1 >= argc)
        return cli_usage_error(&classify_command, "no IMAGE given");
    o->model = argv[optind];
    o->images = (const char **)(argv + optind + 1);
    o->image_count = argc - optind - 1;
    return 0;
}

/* The first INPUT layer's name and size, or 0. */
static int find_input(cly_graph *g, cly_layer_info *in)
{
    for (size_t i = 0; i < cly_graph_layer_count(g); i++)
        if (cly_graph_layer_info(g, i, in) == CLY_SUCCESS && in->type == CLY_LAYER_INPUT)
            return 1;
    return 0;
}

static int load_clym(cly_context *ctx, const classify_opts *o, classify_net *m)
{
    m->form = "model file";
    cly_status s = cly_model_load(ctx, o->model, &(cly_net_options){.batch = o->batch}, &m->g, &m->net);
    return s == CLY_SUCCESS ? 0 : cli_fail("classify", s, ctx);
}

/* An ONNX model with its weights (cly_onnx_load keeps its outputs readable). */
static int load_onnx(cly_context *ctx, const classify_opts *o, classify_net *m)
{
    m->form = "ONNX model";
    cly_status s = cly_onnx_load_opts(ctx, o->model, &cli_onnx, &(cly_net_options){.batch = o->batch}, &m->g, &m->net);
    return s == CLY_SUCCESS ? 0 : cli_fail("classify", s, ctx);
}

/* A net file or built-in name: no weights, so seeded ones (the output is
 * then only good for checking the plumbing; said on stderr). */
static int load_net(cly_context *ctx, const classify_opts *o, classify_net *m)
{
    FILE *f = fopen(o->model, "r");
    m->form = f || strchr(o->model, '/') ? "net file" : "built-in net";
    if (f)
        fclose(f);
    int rc = cli_load_net("classify", o->model, o->batch, &m->g);
    if (rc)
        return rc;
    cly_layer_info in;
    cly_status s = CLY_SUCCESS;
    if (o->crop_h && find_input(m->g, &in) && (in.output.h != o->crop_h || in.output.w != o->crop_w))
        s = cly_graph_set_input_size(m->g, in.name, o->crop_h, o->crop_w);
    if (s == CLY_SUCCESS)
        s = cly_net_create(ctx, m->g, &(cly_net_options){.batch = o->batch}, &m->net);
    if (s == CLY_SUCCESS)
        s = cly_net_init_params(m->net, CLY_INIT_HE, (uint64_t)o->seed);
    m->seeded = true;
    return s == CLY_SUCCESS ? 0 : cli_fail("classify", s, ctx);
}

/* Each form MODEL can take, tried in order. */
static const struct {
    bool (*matches)(const char *path);
    int (*load)(cly_context *ctx, const classify_opts *o, classify_net *m);
} model_forms[] = {
    {cli_is_model_file, load_clym},
    {cli_is_onnx, load_onnx},
    {NULL, load_net}, /* anything else: a net file, else a built-in name */
};

/* The net's input (3 x H x W) and its one output (C x 1 x 1 scores). */
static int describe(const classify_opts *o, classify_net *m)
{
    cly_layer_info in, info;
    if (!find_input(m->g, &in)) {
        fprintf(stderr, "clayer classify: %s has no input layer\n", o->model);
        return EXIT_RUNTIME;
    }
    if (in.output.c != 3) {
        fprintf(stderr, "clayer classify: %s: the input '%s' is %lld x %lld x %lld; images need 3 channels (RGB)\n",
                o->model, in.name, (long long)in.output.c, (long long)in.output.h, (long long)in.output.w);
        return EXIT_RUNTIME;
    }
    m->input = in.name;
    m->h = in.output.h;
    m->w = in.output.w;
    int outputs = 0;
    for (size_t i = 0; i < cly_graph_layer_count(m->g); i++)
        if (cly_graph_layer_info(m->g, i, &info) == CLY_SUCCESS && info.is_output) {
            outputs++;
            m->output = info.name;
            m->classes = info.output.c;
            m->softmax = info.type == CLY_LAYER_SOFTMAX;
            if (info.output.h != 1 || info.output.w != 1 || info.output.c < 1) {
                fprintf(stderr,
                        "clayer classify: %s: the output '%s' is %lld x %lld x %lld, not class scores C x 1 x 1\n",
                        o->model, info.name, (long long)info.output.c, (long long)info.output.h,
                        (long long)info.output.w);
                return EXIT_RUNTIME;
            }
        }
    if (outputs != 1) {
        fprintf(stderr, "clayer classify: %s has %d outputs; classify needs one\n", o->model, outputs);
        return EXIT_RUNTIME;
    }
    if (o->crop_h && (o->crop_h != m->h || o->crop_w != m->w)) {
        fprintf(stderr, "clayer classify: --crop %lldx%lld: the %s's input is %lld x %lld\n", o->crop_h, o->crop_w,
                m->form, (long long)m->h, (long long)m->w);
        return EXIT_USAGE;
    }
    return 0;
}

/* One label per line of `path` (a trailing newline ends the last); exactly
 * `classes` of them. */
char **cli_load_labels(const char *cmd, const char *path, int64_t classes)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "clayer %s: %s: cannot open the labels: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    char **labels = calloc((size_t)classes, sizeof *labels);
    char line[4096];
    int64_t n = 0;
    bool ok = labels != NULL;
    while (ok && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (n < classes && !(labels[n] = strdup(line)))
            ok = false;
        n++;
    }
    fclose(f);
    if (ok && n != classes) {
        fprintf(stderr, "clayer %s: %s has %lld labels; the net has %lld classes\n", cmd, path, (long long)n,
                (long long)classes);
        ok = false;
    }
    if (!ok && labels) {
        for (int64_t i = 0; i < classes; i++)
            free(labels[i]);
        free(labels);
        labels = NULL;
    }
    return labels;
}

void cli_free_labels(char **labels, int64_t classes)
{
    for (int64_t i = 0; labels && i < classes; i++)
        free(labels[i]);
    free(labels);
}

/* Every image preprocessed into its slot of x (image_count x 3 x H x W). */
static int preprocess_all(const classify_opts *o, const classify_net *m, float *x)
{
    cly_preprocess p = {.resize = o->resize, .crop_h = m->h, .crop_w = m->w};
    if (!p.resize) /* ImageNet's 256 for 224, kept in proportion */
        p.resize = (int64_t)floor((double)(m->h < m->w ? m->h : m->w) * 256.0 / 224.0 + 0.5);
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(p.mean, o->have_mean ? o->mean : mean, sizeof p.mean);
    memcpy(p.std, o->have_std ? o->std : std, sizeof p.std);
    int64_t per = 3 * m->h * m->w;
    for (int i = 0; i < o->image_count; i++) {
        cly_image *img = NULL;
        cly_status s = cly_image_load(o->images[i], &img);
        if (s == CLY_SUCCESS)
            s = cly_image_preprocess(img, &p, x + (size_t)i * (size_t)per, per);
        cly_image_destroy(img);
        if (s != CLY_SUCCESS) {
            /* The library's message starts with the file name. */
            fprintf(stderr, "clayer classify: %s: %s\n", cly_status_string(s), cly_last_error(NULL));
            return EXIT_RUNTIME;
        }
    }
    return 0;
}

typedef struct ranked {
    int64_t index;
    double p;
} ranked;

static int by_probability(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Scores to probabilities (a softmax unless the net ends in one), sorted. */
static void rank(const float *scores, int64_t classes, bool softmax, ranked *r)
{
    double top = -INFINITY, sum = 0;
    for (int64_t c = 0; c < classes; c++)
        top = scores[c] > top ? scores[c] : top;
    for (int64_t c = 0; c < classes; c++) {
        r[c] = (ranked){c, softmax ? scores[c] : exp(scores[c] - top)};
        sum += r[c].p;
    }
    for (int64_t c = 0; !softmax && c < classes; c++)
        r[c].p /= sum;
    qsort(r, (size_t)classes, sizeof *r, by_probability);
}

static void print_text(const char *image, const ranked *r, int64_t k, char **labels)
{
    printf("%s\n", image);
    for (int64_t i = 0; i < k; i++)
        printf("  %.6f  %5lld%s%s\n", r[i].p, (long long)r[i].index, labels ? "  " : "",
               labels ? labels[r[i].index] : "");
}

static void print_json(const char *image, const ranked *r, int64_t k, char **labels, bool first)
{
    printf("%s\n    {\"image\": ", first ? "" : ",");
    json_string(stdout, image);
    printf(", \"top\": [");
    for (int64_t i = 0; i < k; i++) {
        printf("%s\n      {\"class\": %lld, \"label\": ", i ? "," : "", (long long)r[i].index);
        if (labels)
            json_string(stdout, labels[r[i].index]);
        else
            printf("null");
        json_field(stdout, ", \"probability\": ", r[i].p);
        printf("}");
    }
    printf("\n    ]}");
}

int cmd_classify(int argc, char **argv)
{
    classify_opts o = {.top = 5, .seed = 1};
    int prc = parse_args(argc, argv, &o);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (!o.batch)
        o.batch = o.image_count < 8 ? o.image_count : 8;
    classify_net m = {0};
    cly_context *ctx = NULL;
    char **labels = NULL;
    float *x = NULL, *y = NULL;
    ranked *r = NULL;
    int rc = EXIT_RUNTIME;
    cly_status s = cly_context_create(o.selector, &ctx);
    if (s != CLY_SUCCESS) {
        rc = cli_fail("classify", s, NULL);
        goto done;
    }
    for (size_t i = 0; i < sizeof model_forms / sizeof model_forms[0]; i++)
        if (!model_forms[i].matches || model_forms[i].matches(o.model)) {
            rc = model_forms[i].load(ctx, &o, &m);
            break;
        }
    if (rc || (rc = describe(&o, &m)))
        goto done;
    if (m.seeded)
        fprintf(stderr, "clayer classify: %s is a %s without weights: seeded He initialisation (seed %lld), so the "
                        "classes mean nothing\n",
                o.model, m.form, o.seed);
    rc = EXIT_RUNTIME;
    if (o.labels && !(labels = cli_load_labels("classify", o.labels, m.classes)))
        goto done;
    int64_t per = 3 * m.h * m.w;
    /* Room for whole batches: the last one is padded with zeros. */
    int64_t slots = (o.image_count + o.batch - 1) / o.batch * o.batch;
    x = calloc((size_t)(slots * per), sizeof *x);
    y = malloc((size_t)(o.batch * m.classes) * sizeof *y);
    r = malloc((size_t)m.classes * sizeof *r);
    if (!x || !y || !r) {
        fprintf(stderr, "clayer classify: out of memory for %d images\n", o.image_count);
        goto done;
    }
    if ((rc = preprocess_all(&o, &m, x)))
        goto done;
    int64_t k = o.top < m.classes ? o.top : m.classes;
    if (o.json) {
        printf("{\n  ");
        json_key_str(stdout, "model", o.model, ",\n  ");
        json_key_str(stdout, "device", cly_context_device(ctx)->name, ",\n  ");
        printf("\"classes\": %lld,\n  \"softmax_applied\": %s,\n  \"images\": [", (long long)m.classes,
               m.softmax ? "false" : "true");
    }
    for (int64_t b = 0; b < slots; b += o.batch) {
        if ((s = cly_net_set_input(m.net, m.input, x + (size_t)(b * per), o.batch * per)) ||
            (s = cly_net_forward(m.net)) || (s = cly_net_get_output(m.net, m.output, y, o.batch * m.classes))) {
            rc = cli_fail("classify", s, ctx);
            goto done;
        }
        for (int64_t i = b; i < b + o.batch && i < o.image_count; i++) {
            rank(y + (size_t)((i - b) * m.classes), m.classes, m.softmax, r);
            if (o.json)
                print_json(o.images[i], r, k, labels, i == 0);
            else
                print_text(o.images[i], r, k, labels);
        }
    }
    if (o.json)
        printf("\n  ]\n}\n");
    rc = 0;
done:
    free(r);
    free(y);
    free(x);
    cli_free_labels(labels, m.classes);
    cly_net_destroy(m.net);
    cly_graph_destroy(m.g);
    cly_context_destroy(ctx);
    return rc;
}
