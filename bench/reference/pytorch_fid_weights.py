"""pytorch-fid's InceptionV3 given the FID weights rgan reads (a safetensors file without the
1008-way classifier): the setup the pytorch-fid reference scripts share."""
import os

import torch
from safetensors.torch import load_file
import pytorch_fid.inception as fid_inception

DEFAULT_WEIGHTS = os.environ.get("RGAN_INCEPTION_WEIGHTS", "../shared/models/fid_inception_v3.safetensors")


def inception_v3(weights, **options):
    """pytorch-fid's `InceptionV3([3], **options)` in eval mode, with the weights of `weights`."""
    state = load_file(weights)
    # The classifier layer is never used for pool3 features; pytorch-fid's loader wants it.
    state["fc.weight"] = torch.zeros(1008, 2048)
    state["fc.bias"] = torch.zeros(1008)
    fid_inception.load_state_dict_from_url = lambda *a, **k: state
    return fid_inception.InceptionV3([3], **options).eval()
