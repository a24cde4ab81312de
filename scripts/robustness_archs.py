"""The robustness library's classifier layouts, written for robustlens convert: parameter names match its state dicts.

CIFAR ResNets (3x3 stem, no max-pool, `shortcut`, `linear`), ImageNet ResNets (torchvision-shaped: 7x7 stem, max-pool,
`downsample`, `fc`), CIFAR VGG (BN after every conv, one Linear(512)), ImageNet VGG (torchvision-shaped, with or without
BN), and the pre-activation WideResNet-D-K layout most robust CIFAR checkpoints use (`blockN.layer.i`, `convShortcut`).
Every network ends in global average pooling, a flatten and one final Linear whose input is R (as with_latent).
"""
import re

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv2d(cin, cout, kernel_size=k, stride=stride, padding=k // 2, bias=bias)


class CifarBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3), nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(conv(cin, planes, 1, stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class CifarBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = 4 * planes
        self.conv1, self.bn1 = conv(cin, planes, 1), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv(planes, out, 1), nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != out:
            self.shortcut = nn.Sequential(conv(cin, out, 1, stride), nn.BatchNorm2d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        return F.relu(self.bn3(self.conv3(h)) + self.shortcut(x))


class ImagenetBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3), nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(conv(cin, planes, 1, stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(self.bn2(self.conv2(h)) + skip)


class ImagenetBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = 4 * planes
        self.conv1, self.bn1 = conv(cin, planes, 1), nn.BatchNorm2d(planes)
        # torchvision's v1.5 layout: the stride sits on the 3x3 conv
        self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv(planes, out, 1), nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(conv(cin, out, 1, stride), nn.BatchNorm2d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(self.bn3(self.conv3(h)) + skip)


class ResNet(nn.Module):
    def __init__(self, block, counts, classes, imagenet):
        super().__init__()
        self.imagenet = imagenet
        self.conv1 = conv(3, 64, 7, 2) if imagenet else conv(3, 64, 3)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for i, (n, planes) in enumerate(zip(counts, (64, 128, 256, 512))):
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        head = nn.Linear(cin, classes)
        if imagenet:
            self.fc = head
        else:
            self.linear = head

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.imagenet:
            x = F.max_pool2d(x, 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        rep = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return (self.fc if self.imagenet else self.linear)(rep)


class WideBlock(nn.Module):
    """Pre-activation block; when the width changes, the shortcut conv reads the pre-activated input."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), conv(cin, cout, 3, stride)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), conv(cout, cout, 3)
        self.equal = cin == cout
        self.convShortcut = None if self.equal else conv(cin, cout, 1, stride)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        h = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return h + (x if self.equal else self.convShortcut(a))


class WideGroup(nn.Module):
    def __init__(self, n, cin, cout, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth, k, classes):
        super().__init__()
        n = (depth - 4) // 6
        w = [16, 16 * k, 32 * k, 64 * k]
        self.conv1 = conv(3, w[0], 3)
        self.block1 = WideGroup(n, w[0], w[1], 1)
        self.block2 = WideGroup(n, w[1], w[2], 2)
        self.block3 = WideGroup(n, w[2], w[3], 2)
        self.bn1 = nn.BatchNorm2d(w[3])
        self.fc = nn.Linear(w[3], classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        rep = torch.flatten(F.adaptive_avg_pool2d(F.relu(self.bn1(x)), 1), 1)
        return self.fc(rep)


VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg_features(bn, conv_bias=True):
    layers, cin = [], 3
    for v in VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(cin, v, 3, padding=1, bias=conv_bias))
        if bn:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        cin = v
    return nn.Sequential(*layers)


class CifarVGG(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = vgg_features(bn=True)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class ImagenetVGG(nn.Module):
    """classifier indices 0/3/6 are the Linears (1, 4: ReLU; 2, 5: Dropout), R is the last ReLU's output."""

    def __init__(self, classes, bn):
        super().__init__()
        self.features = vgg_features(bn=bn)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, classes)
        )

    def forward(self, x):
        x = self.features(x)
        if x.shape[-1] != 7 or x.shape[-2] != 7:
            x = F.adaptive_avg_pool2d(x, 7)
        return self.classifier(torch.flatten(x, 1))


ARCHS = "resnet18 | resnet50 | wrn-D-K (cifar) | vgg16 | vgg16_bn (imagenet)"
# the key of the final Linear's weight, whose first dimension gives the class count
HEAD = {"resnet-cifar": "linear.weight", "resnet-imagenet": "fc.weight", "wrn": "fc.weight", "vgg-cifar": "classifier.weight",
        "vgg-imagenet": "classifier.6.weight"}


def family(arch, dataset):
    """(family, builder(classes)) for an --arch/--dataset pair; ValueError with a one-line reason otherwise."""
    imagenet = dataset == "imagenet"
    if arch in ("resnet18", "resnet50"):
        block = {("resnet18", False): CifarBasic, ("resnet50", False): CifarBottleneck,
                 ("resnet18", True): ImagenetBasic, ("resnet50", True): ImagenetBottleneck}[(arch, imagenet)]
        counts = [2, 2, 2, 2] if arch == "resnet18" else [3, 4, 6, 3]
        return ("resnet-imagenet" if imagenet else "resnet-cifar"), (lambda c: ResNet(block, counts, c, imagenet))
    m = re.fullmatch(r"wrn-(\d+)-(\d+)", arch)
    if m:
        depth, k = int(m.group(1)), int(m.group(2))
        if depth < 10 or (depth - 4) % 6 or k < 1:
            raise ValueError(f'--arch {arch}: WideResNet depth must be 6n+4 (10, 16, 22, 28, 34, ...) and width K >= 1')
        if imagenet:
            raise ValueError(f"--arch {arch}: WideResNet-D-K is a CIFAR layout; use --dataset cifar")
        return "wrn", (lambda c: WideResNet(depth, k, c))
    if arch in ("vgg16", "vgg16_bn"):
        if not imagenet:
            if arch == "vgg16_bn":
                raise ValueError("--arch vgg16_bn: the CIFAR VGG16 always has batch norm; use --arch vgg16")
            return "vgg-cifar", (lambda c: CifarVGG(c))
        return "vgg-imagenet", (lambda c: ImagenetVGG(c, bn=arch == "vgg16_bn"))
    raise ValueError(f'--arch "{arch}": unknown architecture (known: {ARCHS})')
