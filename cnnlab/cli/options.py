"""Model options shared by `summary` and `train`."""

from __future__ import annotations

import argparse

from cnnlab.spec import RESNET_STEMS, ModelConfig, model_config

MODEL_HELP = ("preset (lenet alexnet vgg11 vgg13 vgg16 vgg19 resnet18 resnet34 resnet50) "
              "or VGG blocks, e.g. vgg:1x64,1x128,2x256,2x512,2x512 (num_convs x out_channels)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("--input", metavar="CxHxW",
                        help="input shape (default: LeNet 1x28x28, AlexNet/VGG 1x224x224, ResNet 3x224x224)")
    parser.add_argument("--classes", type=int, help="number of classes (default 10)")
    parser.add_argument("--width-divisor", type=int, help="divide VGG/ResNet channel widths by K")
    parser.add_argument("--fc-width", type=int, help="width of AlexNet/VGG hidden FC layers (default 4096)")
    parser.add_argument("--stem", choices=RESNET_STEMS, help="ResNet stem (default imagenet)")
    parser.add_argument("--batch-norm", action="store_true", default=None, help="VGG with batch norm")


def model_config_from_args(args: argparse.Namespace) -> ModelConfig:
    return model_config(args.model, args.input, classes=args.classes, width_divisor=args.width_divisor,
                        fc_width=args.fc_width, stem=args.stem, batch_norm=args.batch_norm)
