import keras
import numpy as np
import pytest

from colourlib import model
from colourlib.encoders import EncoderWeightsError, vgg16


def test_paper_parameter_counts_and_output_shapes():
    m = model.build_network(224)
    assert m.get_layer("encoder").count_params() == 14_714_688  # Figure 3
    assert m.get_layer("decoder").count_params() == 1_572_114  # Figure 4
    assert m.get_layer("encoder").output.shape == (None, 7, 7, 512)
    assert m.output_shape == (None, 224, 224, 2)
    small = model.build_network(64)
    assert small.output_shape == (None, 64, 64, 2)
    assert (
        small.get_layer("encoder").count_params() == 14_714_688
    )  # convolutions do not depend on size
    out = keras.ops.convert_to_numpy(small(np.zeros((1, 64, 64, 3), np.float32)))
    assert out.shape == (1, 64, 64, 2) and np.abs(out).max() <= 1.0  # tanh


def test_decoder_layers_match_figure_4():
    decoder = model.build_decoder(7)
    expected = [
        (7, 7, 256),
        (7, 7, 128),
        (14, 14, 128),
        (14, 14, 64),
        (28, 28, 64),
        (28, 28, 32),
        (56, 56, 32),
        (56, 56, 16),
        (112, 112, 16),
        (112, 112, 2),
        (224, 224, 2),
    ]
    assert [tuple(layer.output.shape[1:]) for layer in decoder.layers] == expected
    assert decoder.layers[-2].activation.__name__ == "tanh"


def test_frozen_encoder_trains_only_the_decoder():
    m = model.build_network(64, encoder_trainable=False)
    assert sum(int(np.prod(w.shape)) for w in m.trainable_weights) == 1_572_114


@pytest.mark.parametrize("size", [0, 48, 100, 225, "64", True])
def test_image_size_must_be_a_multiple_of_32(size):
    with pytest.raises(ValueError, match=r"image_size=.*multiple of 32"):
        model.build_network(size)


def test_unknown_encoder_names_the_allowed_ones():
    with pytest.raises(
        ValueError,
        match=r"encoder='resnet'.*Allowed: efficientnet-lite0, efficientnet-lite2, vgg16",
    ):
        model.build_network(64, encoder="resnet")


def test_imagenet_offline_fails_fast_naming_both_alternatives(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no cached download
    monkeypatch.setattr(vgg16, "_online", lambda host, timeout=3.0: False)
    with pytest.raises(EncoderWeightsError, match=r"encoder_weights=None.*encoder_weights=PATH"):
        model.build_network(64, encoder_weights="imagenet")


def test_local_weights_file_loads_and_a_wrong_one_is_rejected(tmp_path):
    source = vgg16.build(64, None)
    source.save_weights(tmp_path / "vgg.weights.h5")
    m = model.build_network(64, encoder_weights=str(tmp_path / "vgg.weights.h5"))
    for a, b in zip(source.get_weights(), m.get_layer("encoder").get_weights()):
        np.testing.assert_array_equal(a, b)
    model.build_decoder(2).save_weights(tmp_path / "decoder.weights.h5")
    with pytest.raises(
        EncoderWeightsError, match=r"encoder_weights=.*decoder.weights.h5.*does not fit"
    ):
        model.build_network(64, encoder_weights=str(tmp_path / "decoder.weights.h5"))
    with pytest.raises(EncoderWeightsError, match="no such file"):
        model.build_network(64, encoder_weights=str(tmp_path / "missing.h5"))


def test_a_weights_file_keras_only_partly_loads_is_rejected(tmp_path, monkeypatch):
    import warnings

    from colourlib.encoders import load_weights_checked

    encoder = vgg16.build(32, None)
    (tmp_path / "part.weights.h5").write_bytes(b"")

    def loads_part(
        path,
    ):  # what Keras 3.15 does when some sublayers have no group in the file: warn, go on
        warnings.warn(
            "Skipping nested container at '_operations_by_depth/container_1': no matching group found "
            "in the saved file. Affected layers will retain their freshly-initialized weights.",
            stacklevel=2,
        )

    monkeypatch.setattr(encoder, "load_weights", loads_part)
    with pytest.raises(
        EncoderWeightsError, match=r"encoder_weights=.*part.weights.h5.*does not fit.*Skipping"
    ):
        load_weights_checked(
            encoder, tmp_path / "part.weights.h5", "encoder_weights", "a VGG16 weights file"
        )
