"""VGG-16 (Simonyan & Zisserman, 2015, configuration D): thirteen 3x3 convs with ReLU in five max-pooled stages,
no BatchNorm, and a 4096-4096 fully-connected classifier, for 224x224 inputs."""

from __future__ import annotations

from torch import nn

#: Output channels of each 3x3 conv in configuration D; None is a 2x2 stride-2 max pool.
CONFIG_D = (64, 64, None, 128, 128, None, 256, 256, 256, None, 512, 512, 512, None, 512, 512, 512, None)


def vgg16(classes: int = 1000) -> nn.Module:
    """Build VGG-16 (138 M parameters and 15.5 G multiply-adds at 224x224, 1000 classes).

    The classifier takes the 512x7x7 features of a 224x224 input as they are (torchvision adds an adaptive pool to
    7x7, a no-op at that size, so that other sizes run; the paper has none).
    """
    layers: list[nn.Module] = []
    cin = 3
    for cout in CONFIG_D:
        if cout is None:
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
            cin = cout
    return nn.Sequential(
        *layers,
        nn.Flatten(),
        nn.Linear(cin * 7 * 7, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, classes),
    )
