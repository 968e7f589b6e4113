"""PyTorch state_dict files: real torch.save output, read with weights_only=True."""

from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from snn_rram import SnnRramError, ann

from ._models import LeNet, assert_same, cnn_skeleton, seeded, torch_forward


def test_mlp_inferred(tmp_path, mlp, x_mlp):
    torch.save(mlp.state_dict(), tmp_path / "mlp.pt")
    net = ann.load(tmp_path / "mlp.pt")
    assert net.input_shape == (12,)
    assert [layer.kind for layer in net] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert_same(net, torch_forward(mlp, x_mlp), x_mlp)


def test_cnn_with_skeleton(tmp_path, cnn, x_cnn):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pth")
    net = ann.load(tmp_path / "cnn.pth", skeleton=cnn_skeleton())
    assert_same(net, torch_forward(cnn, x_cnn), x_cnn)


def test_skeleton_matched_by_order_when_names_differ(tmp_path, cnn, x_cnn):
    renamed = OrderedDict(
        (k.replace("c1", "first").replace("c2", "second"), v) for k, v in cnn.state_dict().items()
    )
    torch.save(renamed, tmp_path / "cnn.pt")
    net = ann.load(tmp_path / "cnn.pt", skeleton=cnn_skeleton())
    assert [layer.name for _, layer in net.weight_layers()] == ["c1", "c2", "fc1", "fc2"]
    assert_same(net, torch_forward(cnn, x_cnn), x_cnn)


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_lenet_inferred(tmp_path, x_lenet, pooling):
    model = seeded(LeNet, pooling, seed=4)
    torch.save(model.state_dict(), tmp_path / "lenet.pt")
    net = ann.load(tmp_path / "lenet.pt", input_shape=(1, 28, 28), pooling=pooling)
    assert net["conv1"].padding == (2, 2, 2, 2) and net["conv2"].padding == (0, 0, 0, 0)
    pool = ann.MaxPool2d if pooling == "max" else ann.AvgPool2d
    assert sum(isinstance(layer, pool) for layer in net) == 2
    assert_same(net, torch_forward(model, x_lenet), x_lenet)


def test_sequential_names_and_nested_checkpoint(tmp_path, x_lenet):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 14 * 14, 10),
    ).eval()
    torch.save({"epoch": 3, "state_dict": model.state_dict()}, tmp_path / "ckpt.pt")
    net = ann.load(tmp_path / "ckpt.pt", input_shape=(1, 28, 28))
    assert [layer.name for _, layer in net.weight_layers()] == ["0", "4"]
    assert_same(net, torch_forward(model, x_lenet), x_lenet)


def test_legacy_serialization(tmp_path, mlp, x_mlp):
    torch.save(mlp.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert ann.detect_format(tmp_path / "old.pt") == "torch"
    assert_same(ann.load(tmp_path / "old.pt"), torch_forward(mlp, x_mlp), x_mlp)


def test_whole_model_is_refused_without_unpickling(tmp_path, mlp):
    torch.save(mlp, tmp_path / "whole.pt")
    with pytest.raises(SnnRramError) as err:
        ann.load(tmp_path / "whole.pt")
    msg = str(err.value)
    assert "torch.save(model.state_dict(), path)" in msg and "never unpickles" in msg
    assert "_models.MLP" in msg


def test_truncated_file(tmp_path, mlp):
    torch.save(mlp.state_dict(), tmp_path / "mlp.pt")
    data = (tmp_path / "mlp.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) - 200])
    with pytest.raises(SnnRramError, match="truncated or corrupt"):
        ann.load(tmp_path / "cut.pt")


def test_batchnorm_is_unsupported(tmp_path):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.BatchNorm2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 2),
    )
    torch.save(model.state_dict(), tmp_path / "bn.pt")
    with pytest.raises(SnnRramError, match=r"unsupported layer '1' at position 1.*BatchNorm"):
        ann.load(tmp_path / "bn.pt", input_shape=(1, 4, 4))


def test_not_a_state_dict(tmp_path):
    torch.save([torch.ones(2)], tmp_path / "list.pt")
    with pytest.raises(SnnRramError, match="expected a state_dict"):
        ann.load(tmp_path / "list.pt")
    torch.save({"fc.weight": torch.ones(2, 2), "fc.note": 3}, tmp_path / "mixed.pt")
    with pytest.raises(SnnRramError, match="entry 'fc.note' is a int, not a tensor"):
        ann.load(tmp_path / "mixed.pt")


def test_inference_errors(tmp_path, x_lenet):
    model = seeded(LeNet, seed=5)
    torch.save(model.state_dict(), tmp_path / "lenet.pt")
    with pytest.raises(SnnRramError, match=r"input_shape: .*needs the per-sample input shape"):
        ann.load(tmp_path / "lenet.pt")
    with pytest.raises(SnnRramError, match="no LeNet-style architecture"):
        ann.load(tmp_path / "lenet.pt", input_shape=(1, 40, 40))
    # 16x16 with two 3x3 convs: paddings (1, 0) and (0, 1) both give 4*3*3 features.
    amb = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(2, 4, 3), torch.nn.Linear(36, 2)
    )
    torch.save(amb.state_dict(), tmp_path / "amb.pt")
    with pytest.raises(SnnRramError, match="several choices"):
        ann.load(tmp_path / "amb.pt", input_shape=(1, 16, 16))
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(5, 2))
    torch.save(mlp.state_dict(), tmp_path / "bad_mlp.pt")
    with pytest.raises(SnnRramError, match=r"inferred MLP does not fit.*layer 2 '1' \(Dense\)"):
        ann.load(tmp_path / "bad_mlp.pt")
    odd = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Conv2d(1, 1, 1))
    torch.save(odd.state_dict(), tmp_path / "odd.pt")
    with pytest.raises(SnnRramError, match="convolution '1' at position 1 follows a dense"):
        ann.load(tmp_path / "odd.pt")


def test_skeleton_errors(tmp_path, cnn, mlp):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    torch.save(mlp.state_dict(), tmp_path / "mlp.pt")
    with pytest.raises(SnnRramError, match=r"file has 3 weight layers .* skeleton has 4"):
        ann.load(tmp_path / "mlp.pt", skeleton=cnn_skeleton())
    small = ann.Network(
        [
            ann.Conv2d(np.zeros((3, 1, 3, 3)), name="c1"),
            ann.Flatten(),
            ann.Dense(np.zeros((6, 3 * 14 * 14)), name="fc1"),
            ann.Dense(np.zeros((5, 6)), name="fc2"),
            ann.Dense(np.zeros((1, 5))),
        ],
        (1, 16, 16),
    )
    with pytest.raises(SnnRramError, match="is a Dense"):
        ann.load(tmp_path / "cnn.pt", skeleton=small)
    wrong = cnn_skeleton().with_weights({"fc1": (np.zeros((6, 16)), None)})
    wrong = ann.Network(
        [
            *wrong.layers[:7],
            ann.Dense(np.zeros((6, 16)), name="fc1"),
            ann.ReLU(),
            ann.Dense(np.zeros((4, 6)), name="fc2"),
        ],
        (1, 16, 16),
    )
    with pytest.raises(SnnRramError, match=r"fc2.weight has shape \(5, 6\).*expects \(4, 6\)"):
        ann.load(tmp_path / "cnn.pt", skeleton=wrong)
    with pytest.raises(SnnRramError, match="skeleton: expected an snn_rram.ann.Network"):
        ann.load(tmp_path / "cnn.pt", skeleton="lenet")


def test_missing_torch_is_a_clear_error(tmp_path, mlp, monkeypatch):
    torch.save(mlp.state_dict(), tmp_path / "mlp.pt")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(SnnRramError, match="needs torch"):
        ann.load(tmp_path / "mlp.pt")
