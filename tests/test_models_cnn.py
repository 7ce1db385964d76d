"""The tutorials' CNNs (SimpleCNN, MNISTCNN, ExamModel, BrainTumorCNN) against the same
architectures written in plain PyTorch here: same keys, outputs, gradients, BatchNorm statistics;
torch.optim trains them; bad shapes and options are ValueErrors that say what was expected."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import greymatter as gm
from test_models_support import TutorialBrainTumorCNN, assert_equivalent, fit_batch


class TutorialSimpleCNN(nn.Module):  # the cheat sheet's model
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 8, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(8 * 14 * 14, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        return self.fc1(torch.flatten(x, 1))


class TutorialMNISTCNN(nn.Module):  # the MNIST challenge's two-block CNN
    def __init__(self, batch_norm=False, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64) if batch_norm else nn.Identity()
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.dropout(F.relu(self.fc1(x.view(x.size(0), -1))))
        return self.fc2(x)


class TutorialExamModel(nn.Module):  # the exam's binary model (Keras-style "valid" conv)
    def __init__(self, image_size=200):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.pool = nn.MaxPool2d(2, 2)
        side = (image_size - 2) // 2
        self.fc1 = nn.Linear(32 * side * side, 64)
        self.fc2 = nn.Linear(64, 1)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return torch.sigmoid(self.fc2(x))


def cross_entropy_case(classes, shape):
    return torch.randn(*shape), torch.randint(0, classes, (shape[0],))


def test_simple_cnn_matches_tutorial():
    x, y = cross_entropy_case(10, (6, 1, 28, 28))
    assert_equivalent(gm.models.SimpleCNN(), TutorialSimpleCNN(), x, F.cross_entropy, y)


@pytest.mark.parametrize("batch_norm,dropout", [(False, 0.0), (True, 0.3)])
def test_mnist_cnn_matches_tutorial(batch_norm, dropout):
    x, y = cross_entropy_case(10, (6, 1, 28, 28))
    assert_equivalent(
        gm.models.MNISTCNN(batch_norm=batch_norm, dropout=dropout),
        TutorialMNISTCNN(batch_norm, dropout),
        x,
        F.cross_entropy,
        y,
    )


def test_exam_model_matches_tutorial_with_bce():
    x = torch.randn(4, 3, 40, 40)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = gm.models.ExamModel(image_size=40)
    assert_equivalent(model, TutorialExamModel(image_size=40), x, F.binary_cross_entropy, y)
    with torch.no_grad():
        p = model(x)
        logit = gm.models.ExamModel(image_size=40, sigmoid=False)
        logit.load_state_dict(model.state_dict())
        assert p.shape == (4, 1) and ((p > 0) & (p < 1)).all()
        torch.testing.assert_close(torch.sigmoid(logit(x)), p)


@pytest.mark.parametrize("image_size", [128, 64])
def test_brain_tumor_cnn_matches_tutorial(image_size):
    x, y = cross_entropy_case(4, (3, 3, image_size, image_size))
    assert_equivalent(
        gm.models.BrainTumorCNN(image_size=image_size),
        TutorialBrainTumorCNN(image_size=image_size),
        x,
        F.cross_entropy,
        y,
    )


def test_default_exam_model_has_the_exam_parameter_count():
    # conv 3x3x3x32 + 32, fc1 (32 * 99 * 99) x 64 + 64, fc2 64 + 1 for 200x200 inputs.
    expected = 3 * 3 * 3 * 32 + 32 + 32 * 99 * 99 * 64 + 64 + 64 + 1
    assert gm.models.ExamModel().num_parameters() == expected
    assert gm.models.BrainTumorCNN().num_parameters() == sum(
        p.numel() for p in TutorialBrainTumorCNN().parameters()
    )


@pytest.mark.parametrize(
    "make,shape,loss",
    [
        (lambda: gm.models.SimpleCNN(), (16, 1, 28, 28), "ce"),
        (lambda: gm.models.MNISTCNN(batch_norm=True), (16, 1, 28, 28), "ce"),
        (lambda: gm.models.ExamModel(image_size=32), (16, 3, 32, 32), "bce"),
        (lambda: gm.models.BrainTumorCNN(image_size=32, dropout=0.2), (16, 3, 32, 32), "ce"),
    ],
)
def test_plain_torch_optim_loop_lowers_the_loss(make, shape, loss):
    model = make()
    x = torch.randn(*shape)
    if loss == "bce":
        y, fn = torch.randint(0, 2, (shape[0], 1)).float(), F.binary_cross_entropy
    else:
        y, fn = torch.randint(0, 4, (shape[0],)), F.cross_entropy
    losses = fit_batch(model, x, y, fn, steps=25)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize(
    "model,x,message",
    [
        (
            gm.models.BrainTumorCNN(),
            torch.rand(2, 1, 128, 128),
            r"\(B, 3, 128, 128\).*got \[2, 1, 128, 128\]",
        ),
        (
            gm.models.BrainTumorCNN(),
            torch.rand(2, 3, 64, 64),
            r"image_size=128.*got \[2, 3, 64, 64\]",
        ),
        (gm.models.SimpleCNN(), torch.rand(2, 28, 28), r"\(B, 1, 28, 28\).*got \[2, 28, 28\]"),
        (gm.models.MNISTCNN(), torch.rand(2, 3, 28, 28), r"\(B, 1, 28, 28\).*got \[2, 3, 28, 28\]"),
        (
            gm.models.ExamModel(image_size=40),
            torch.rand(2, 3, 200, 200),
            r"\(B, 3, 40, 40\).*got \[2, 3, 200, 200\]",
        ),
        (
            gm.models.SimpleCNN(),
            torch.zeros(2, 1, 28, 28, dtype=torch.uint8),
            r"floating-point.*Byte",
        ),
    ],
)
def test_wrong_input_is_a_value_error_naming_expected_and_got(model, x, message):
    with pytest.raises(ValueError, match=message):
        model(x)


def test_bad_options_are_config_errors():
    with pytest.raises(
        gm.ConfigError, match=r"image_size must be a positive multiple of 32.*64, 128, 224; got 100"
    ):
        gm.models.BrainTumorCNN(image_size=100)
    with pytest.raises(gm.ConfigError, match="dropout"):
        gm.models.BrainTumorCNN(dropout=1.0)
    with pytest.raises(gm.ConfigError, match="num_classes"):
        gm.models.SimpleCNN(num_classes=0)
    with pytest.raises(gm.ConfigError, match="too small"):
        gm.models.MNISTCNN(image_size=3)
    with pytest.raises(gm.ConfigError, match="channels"):
        gm.models.MNISTCNN(channels=())


def test_macs_per_sample_counts_conv_and_linear_multiply_adds():
    # 28x28 conv 1->8 (3x3, same padding) + Linear(8*14*14, 10)
    assert gm.models.SimpleCNN().macs_per_sample() == 28 * 28 * 8 * 9 + 8 * 14 * 14 * 10
    convs = sum(
        s * s * cout * cin * 9
        for s, cin, cout in [
            (128, 3, 32),
            (64, 32, 64),
            (32, 64, 128),
            (16, 128, 256),
            (8, 256, 512),
        ]
    )
    assert gm.models.BrainTumorCNN().macs_per_sample() == convs + 512 * 4 * 4 * 256 + 256 * 4
    assert gm.models.ExamModel().macs_per_sample() == 198 * 198 * 32 * 27 + 32 * 99 * 99 * 64 + 64
