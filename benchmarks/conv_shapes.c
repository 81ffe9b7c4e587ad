/* The layer lists of conv_bench (conv_shapes.h). Sources: AlexNet as in
 * Caffe's bvlc_alexnet (groups 2 in conv2, 4, 5); VGG-16 (configuration D,
 * each distinct layer once); GoogLeNet v1 (a layer of each kind per stage);
 * ResNet-50 v1.5 (torchvision: stride 2 in the 3x3 of the first block of a
 * stage, each distinct layer once); ResNet-18 (torchvision: each distinct
 * layer, downsampling 1x1s included); soumith/convnet-benchmarks "layer-wise"
 * L1-L5 (batch 128 there, 1 here); DeepLab-style 3x3 atrous layers on 512
 * channels (dh is benchdnn's: dilation - 1). */
#include "conv_shapes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D true  /* in the default subset */
#define X false /* only with its --set */

const conv_shape conv_shapes[] = {
    {"alexnet", X, "mb1ic3ih227oc96oh55kh11sh4n\"alexnet:conv1\""},
    {"alexnet", D, "mb1g2ic96ih27oc256oh27kh5ph2n\"alexnet:conv2_g2\""},
    {"alexnet", D, "mb1ic256ih13oc384oh13kh3ph1n\"alexnet:conv3\""},
    {"alexnet", X, "mb1g2ic384ih13oc384oh13kh3ph1n\"alexnet:conv4_g2\""},
    {"alexnet", X, "mb1g2ic384ih13oc256oh13kh3ph1n\"alexnet:conv5_g2\""},

    {"vgg16", X, "mb1ic3ih224oc64oh224kh3ph1n\"vgg16:conv1_1\""},
    {"vgg16", X, "mb1ic64ih224oc64oh224kh3ph1n\"vgg16:conv1_2\""},
    {"vgg16", X, "mb1ic64ih112oc128oh112kh3ph1n\"vgg16:conv2_1\""},
    {"vgg16", X, "mb1ic128ih112oc128oh112kh3ph1n\"vgg16:conv2_2\""},
    {"vgg16", X, "mb1ic128ih56oc256oh56kh3ph1n\"vgg16:conv3_1\""},
    {"vgg16", X, "mb1ic256ih56oc256oh56kh3ph1n\"vgg16:conv3_2\""},
    {"vgg16", X, "mb1ic256ih28oc512oh28kh3ph1n\"vgg16:conv4_1\""},
    {"vgg16", D, "mb1ic512ih28oc512oh28kh3ph1n\"vgg16:conv4_2\""},
    {"vgg16", X, "mb1ic512ih14oc512oh14kh3ph1n\"vgg16:conv5_1\""},

    {"googlenet", X, "mb1ic3ih224oc64oh112kh7sh2ph3rfloorn\"googlenet:conv1_7x7_s2\""},
    {"googlenet", X, "mb1ic64ih56oc64oh56kh1n\"googlenet:conv2_reduce\""},
    {"googlenet", X, "mb1ic64ih56oc192oh56kh3ph1n\"googlenet:conv2_3x3\""},
    {"googlenet", X, "mb1ic192ih28oc64oh28kh1n\"googlenet:3a_1x1\""},
    {"googlenet", X, "mb1ic192ih28oc96oh28kh1n\"googlenet:3a_3x3_reduce\""},
    {"googlenet", D, "mb1ic96ih28oc128oh28kh3ph1n\"googlenet:3a_3x3\""},
    {"googlenet", X, "mb1ic192ih28oc16oh28kh1n\"googlenet:3a_5x5_reduce\""},
    {"googlenet", D, "mb1ic16ih28oc32oh28kh5ph2n\"googlenet:3a_5x5\""},
    {"googlenet", X, "mb1ic96ih14oc208oh14kh3ph1n\"googlenet:4a_3x3\""},
    {"googlenet", X, "mb1ic16ih14oc48oh14kh5ph2n\"googlenet:4a_5x5\""},
    {"googlenet", X, "mb1ic480ih14oc192oh14kh1n\"googlenet:4a_1x1\""},
    {"googlenet", X, "mb1ic160ih7oc320oh7kh3ph1n\"googlenet:5a_3x3\""},
    {"googlenet", X, "mb1ic832ih7oc384oh7kh1n\"googlenet:5b_1x1\""},

    {"resnet50", X, "mb1ic3ih224oc64oh112kh7sh2ph3rfloorn\"resnet50:conv1_7x7_s2\""},
    {"resnet50", X, "mb1ic64ih56oc64oh56kh1n\"resnet50:layer1_1x1_a\""},
    {"resnet50", D, "mb1ic64ih56oc64oh56kh3ph1n\"resnet50:layer1_3x3\""},
    {"resnet50", X, "mb1ic64ih56oc256oh56kh1n\"resnet50:layer1_1x1_b\""},
    {"resnet50", X, "mb1ic256ih56oc64oh56kh1n\"resnet50:layer1_1x1_a2\""},
    {"resnet50", X, "mb1ic256ih56oc128oh56kh1n\"resnet50:layer2.0_1x1_a\""},
    {"resnet50", D, "mb1ic128ih56oc128oh28kh3sh2ph1rfloorn\"resnet50:layer2.0_3x3_s2\""},
    {"resnet50", X, "mb1ic256ih56oc512oh28kh1sh2rfloorn\"resnet50:layer2.0_downsample\""},
    {"resnet50", X, "mb1ic128ih28oc128oh28kh3ph1n\"resnet50:layer2_3x3\""},
    {"resnet50", X, "mb1ic128ih28oc512oh28kh1n\"resnet50:layer2_1x1_b\""},
    {"resnet50", X, "mb1ic512ih28oc128oh28kh1n\"resnet50:layer2_1x1_a\""},
    {"resnet50", X, "mb1ic512ih28oc256oh28kh1n\"resnet50:layer3.0_1x1_a\""},
    {"resnet50", X, "mb1ic256ih28oc256oh14kh3sh2ph1rfloorn\"resnet50:layer3.0_3x3_s2\""},
    {"resnet50", X, "mb1ic512ih28oc1024oh14kh1sh2rfloorn\"resnet50:layer3.0_downsample\""},
    {"resnet50", X, "mb1ic256ih14oc256oh14kh3ph1n\"resnet50:layer3_3x3\""},
    {"resnet50", X, "mb1ic256ih14oc1024oh14kh1n\"resnet50:layer3_1x1_b\""},
    {"resnet50", D, "mb1ic1024ih14oc256oh14kh1n\"resnet50:layer3_1x1_a\""},
    {"resnet50", X, "mb1ic1024ih14oc512oh14kh1n\"resnet50:layer4.0_1x1_a\""},
    {"resnet50", X, "mb1ic512ih14oc512oh7kh3sh2ph1rfloorn\"resnet50:layer4.0_3x3_s2\""},
    {"resnet50", X, "mb1ic1024ih14oc2048oh7kh1sh2rfloorn\"resnet50:layer4.0_downsample\""},
    {"resnet50", X, "mb1ic512ih7oc512oh7kh3ph1n\"resnet50:layer4_3x3\""},
    {"resnet50", X, "mb1ic512ih7oc2048oh7kh1n\"resnet50:layer4_1x1_b\""},
    {"resnet50", X, "mb1ic2048ih7oc512oh7kh1n\"resnet50:layer4_1x1_a\""},

    {"resnet18", X, "mb1ic3ih224oc64oh112kh7sh2ph3rfloorn\"resnet18:conv1\""},
    {"resnet18", X, "mb1ic64ih56oc64oh56kh3ph1n\"resnet18:layer1_3x3\""},
    {"resnet18", X, "mb1ic64ih56oc128oh28kh3sh2ph1rfloorn\"resnet18:layer2.0_3x3_s2\""},
    {"resnet18", X, "mb1ic128ih28oc128oh28kh3ph1n\"resnet18:layer2_3x3\""},
    {"resnet18", X, "mb1ic64ih56oc128oh28kh1sh2rfloorn\"resnet18:layer2.0_downsample\""},
    {"resnet18", X, "mb1ic128ih28oc256oh14kh3sh2ph1rfloorn\"resnet18:layer3.0_3x3_s2\""},
    {"resnet18", X, "mb1ic256ih14oc256oh14kh3ph1n\"resnet18:layer3_3x3\""},
    {"resnet18", X, "mb1ic128ih28oc256oh14kh1sh2rfloorn\"resnet18:layer3.0_downsample\""},
    {"resnet18", X, "mb1ic256ih14oc512oh7kh3sh2ph1rfloorn\"resnet18:layer4.0_3x3_s2\""},
    {"resnet18", X, "mb1ic512ih7oc512oh7kh3ph1n\"resnet18:layer4_3x3\""},
    {"resnet18", X, "mb1ic256ih14oc512oh7kh1sh2rfloorn\"resnet18:layer4.0_downsample\""},

    {"convnet-benchmarks", X, "mb1ic3ih128oc96oh118kh11n\"convnet-benchmarks:L1\""},
    {"convnet-benchmarks", X, "mb1ic64ih64oc128oh56kh9n\"convnet-benchmarks:L2\""},
    {"convnet-benchmarks", D, "mb1ic128ih32oc128oh24kh9n\"convnet-benchmarks:L3\""},
    {"convnet-benchmarks", X, "mb1ic128ih16oc128oh10kh7n\"convnet-benchmarks:L4\""},
    {"convnet-benchmarks", D, "mb1ic384ih13oc384oh13kh3ph1n\"convnet-benchmarks:L5\""},

    {"dilated", D, "mb1ic512ih28oc512oh28kh3ph2dh1n\"dilated:28px_d2\""},
    {"dilated", X, "mb1ic512ih28oc512oh28kh3ph4dh3n\"dilated:28px_d4\""},
    {"dilated", X, "mb1ic512ih28oc512oh28kh3ph12dh11n\"dilated:28px_d12\""},
    {"dilated", X, "mb1ic512ih64oc512oh64kh3ph2dh1n\"dilated:64px_d2\""},
    {"dilated", X, "mb1ic512ih64oc512oh64kh3ph4dh3n\"dilated:64px_d4\""},
    {"dilated", X, "mb1ic512ih64oc512oh64kh3ph12dh11n\"dilated:64px_d12\""},
};

const size_t conv_shape_count = sizeof conv_shapes / sizeof *conv_shapes;

bool conv_set_known(const char *set)
{
    if (!strcmp(set, "all") || !strcmp(set, "default"))
        return true;
    for (size_t i = 0; i < conv_shape_count; i++)
        if (!strcmp(set, conv_shapes[i].set))
            return true;
    return false;
}

bool conv_set_has(const char *set, const conv_shape *s)
{
    return !strcmp(set, "all") || (!strcmp(set, "default") && s->in_default) || !strcmp(set, s->set);
}

conv_desc *conv_shapes_select(const char *set, char *const *shapes, int nshapes, int64_t mb, size_t *count,
                              int *failed)
{
    const size_t cap = nshapes > 0 ? (size_t)nshapes : conv_shape_count;
    conv_desc *d = calloc(cap, sizeof *d);
    *count = 0;
    for (size_t i = 0; d && i < cap; i++) {
        if (nshapes <= 0 && !conv_set_has(set, &conv_shapes[i]))
            continue;
        const char *text = nshapes > 0 ? shapes[i] : conv_shapes[i].text;
        char err[160];
        if (conv_desc_parse(text, &d[*count], err, sizeof err) != 1) {
            fprintf(stderr, "%s: %s\n", text, err);
            *failed = 1;
            continue;
        }
        if (mb > 0)
            d[*count].mb = mb;
        ++*count;
    }
    return d;
}

int conv_args_parse(int argc, char **argv, const char *const *extra, const char **extra_val, const char *usage,
                    conv_args *a)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        const char *opt = argv[i], *val = argv[i + 1]; /* argv[argc] is NULL */
        size_t e = 0;
        while (extra && extra[e] && strcmp(opt, extra[e]))
            e++;
        if (!val) {
            break;
        } else if (!strcmp(opt, "--runs")) {
            a->runs = atoi(val);
        } else if (!strcmp(opt, "--batch") || !strcmp(opt, "--mb")) {
            a->mb = atoi(val);
        } else if (!strcmp(opt, "--device")) {
            a->device = val;
        } else if (!strcmp(opt, "--set")) {
            a->set = val;
        } else if (extra && extra[e]) {
            extra_val[e] = val;
        } else {
            break;
        }
    }
    if (i < argc && argv[i][0] == '-') {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    if (!conv_set_known(a->set)) {
        fprintf(stderr, "unknown set '%s'\n%s", a->set, usage);
        return 2;
    }
    a->runs = a->runs < 1 ? 1 : a->runs;
    a->shapes = argv + i;
    a->nshapes = argc - i;
    return 0;
}
