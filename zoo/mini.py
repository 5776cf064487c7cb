"""The mini zoo: small configurations of timm's ResNet, DenseNet and VGG classes for tiny images.

The timm classes are used as they are; only the stems (ImageNet's stride-4 stems would
shrink 28x28 input to 7x7 before the first stage) and VGG's 4096-wide head are replaced
with small modules, so each model costs a few MFLOPs and trains in about a minute on 2 CPU cores.
"""
from __future__ import annotations

from torch import nn
from timm.layers import ClassifierHead
from timm.models.densenet import DenseNet
from timm.models.resnet import BasicBlock, ResNet
from timm.models.vgg import VGG, ConvMlp
from timm.models.vision_transformer import VisionTransformer

from .specs import AdversarialTraining, InputSpec, MiniSpec


def build_resnet(spec: InputSpec) -> nn.Module:
    """timm ResNet with BasicBlocks [1, 1, 1, 1], widths 16-32-64-128 and a 3x3 stride-1 stem.

    The 'deep' stem type is chosen only because it sizes the stem output from `stem_width`
    (2 x 8 = 16 channels); its stride-2 conv stack is then replaced by one stride-1 conv.
    """
    model = ResNet(
        block=BasicBlock, layers=(1, 1, 1, 1), channels=(16, 32, 64, 128),
        stem_type="deep", stem_width=8, in_chans=spec.channels, num_classes=spec.num_classes,
    )
    model.conv1 = nn.Conv2d(spec.channels, 16, kernel_size=3, stride=1, padding=1, bias=False)
    return model


def build_densenet(spec: InputSpec) -> nn.Module:
    """timm DenseNet-BC with growth 12, blocks (2, 2, 2) and a 3x3 stride-1 stem (24 features)."""
    model = DenseNet(
        growth_rate=12, block_config=(2, 2, 2), bn_size=2,
        in_chans=spec.channels, num_classes=spec.num_classes,
    )
    model.features.conv0 = nn.Conv2d(spec.channels, 24, kernel_size=3, stride=1, padding=1, bias=False)
    return model


def build_vgg(spec: InputSpec) -> nn.Module:
    """timm VGG-BN with convs 16-M-32-M-64-M and a 128-wide ConvMlp head instead of 4096."""
    model = VGG(cfg=[16, "M", 32, "M", 64, "M"], in_chans=spec.channels, num_classes=spec.num_classes,
                norm_layer=nn.BatchNorm2d)
    hidden = 128
    model.pre_logits = ConvMlp(64, hidden, kernel_size=3, drop_rate=0.0)
    model.head = ClassifierHead(hidden, spec.num_classes, pool_type="avg")
    model.head_hidden_size = hidden
    return model


def build_vit(spec: InputSpec) -> nn.Module:
    """timm VisionTransformer: patch 4 (49 tokens on 28x28), width 64, depth 4, 4 heads, MLP ratio 2;
    sides not divisible by 4 are padded (timm's dynamic_img_pad, with the position embedding resampled
    to the padded grid by dynamic_img_size)."""
    return VisionTransformer(img_size=(spec.height, spec.width), patch_size=4, in_chans=spec.channels,
                             num_classes=spec.num_classes, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0,
                             dynamic_img_size=True, dynamic_img_pad=True)


_STANDARD: dict[str, MiniSpec] = {
    "resnet": MiniSpec("resnet", "timm ResNet (BasicBlock x4, 16-128 wide), 28x28", build_resnet),
    "densenet": MiniSpec("densenet", "timm DenseNet-BC (growth 12, blocks 2-2-2), 28x28", build_densenet),
    "vgg": MiniSpec("vgg", "timm VGG-BN (16-M-32-M-64-M, 128-wide head), 28x28", build_vgg),
}
# Fast adversarial training at Linf 0.1 (FGSM with random start, step 1.25 eps): about twice a
# standard epoch's cost; 5 epochs keep one model within about 10 minutes on 2 CPU cores.
AT = AdversarialTraining(eps=0.1, alpha=0.125, steps=1)
_ADVERSARIAL: dict[str, MiniSpec] = {
    f"{k}-at": MiniSpec(f"{k}-at", f"{s.description}, adversarially trained (FGSM-RS, Linf 0.1)", s.build,
                        epochs=5, adversarial=AT)
    for k, s in _STANDARD.items()
}
MINI_SPECS: dict[str, MiniSpec] = {
    **_STANDARD,
    "vit": MiniSpec("vit", "timm VisionTransformer (patch 4, width 64, depth 4, 4 heads), 28x28", build_vit,
                    epochs=8, lr=2e-3),
    **_ADVERSARIAL,
}
