import numpy as np
from skimage import color as skcolor

from colourlib import colour


def random_rgb(seed=0, shape=(17, 23, 3)):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_rgb_lab_round_trip():
    rgb = random_rgb()
    np.testing.assert_allclose(
        colour.lab_to_rgb(colour.rgb_to_lab(rgb)), rgb, atol=colour.RGB_TOLERANCE
    )


def awkward_rgb() -> np.ndarray:
    """Random colours plus the corners of the cube and the dark ramp where sRGB and CIE switch formulas."""
    rgb = random_rgb(1, (40, 50, 3))
    rgb[0, :8] = [[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)]
    rgb[1, :] = np.linspace(0, 0.06, 50)[:, None]  # around the sRGB knee 0.04045
    rgb[2, :] = np.linspace(0.06, 0.13, 50)[
        :, None
    ]  # around the CIE knee Y = 0.008856 (sRGB grey ~0.092)
    return rgb


def test_closed_forms_agree_with_skimage_within_the_stated_tolerance():
    rgb = awkward_rgb()
    reference = skcolor.rgb2lab(rgb.astype(np.float64))
    assert np.abs(colour.rgb_to_lab(rgb) - reference).max() <= colour.LAB_TOLERANCE
    assert np.abs(colour.rgb_to_lightness(rgb) - reference[..., 0]).max() <= colour.LAB_TOLERANCE
    assert colour.rgb_to_lab(rgb).dtype == colour.rgb_to_lightness(rgb).dtype == np.float32
    np.testing.assert_allclose(
        colour.lab_to_rgb(reference),
        np.clip(skcolor.lab2rgb(reference), 0, 1),
        atol=colour.RGB_TOLERANCE,
    )


def test_integer_images_are_scaled_as_scikit_image_scales_them():
    rgb8 = (awkward_rgb() * 255).round().astype(np.uint8)
    reference = skcolor.rgb2lab(rgb8)
    assert np.abs(colour.rgb_to_lab(rgb8) - reference).max() <= colour.LAB_TOLERANCE
    assert np.abs(colour.rgb_to_lightness(rgb8) - reference[..., 0]).max() <= colour.LAB_TOLERANCE


def test_lab_to_rgb_agrees_with_skimage_out_of_gamut_too():
    import warnings

    rng = np.random.default_rng(3)
    lab = np.stack(
        [
            rng.uniform(0, 100, (30, 30)),
            rng.uniform(-128, 127, (30, 30)),
            rng.uniform(-128, 127, (30, 30)),
        ],
        -1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image warns of negative Z; ours clips quietly
        reference = np.clip(skcolor.lab2rgb(lab), 0, 1)
    np.testing.assert_allclose(colour.lab_to_rgb(lab), reference, atol=colour.RGB_TOLERANCE)


def test_known_lab_values():
    lab = colour.rgb_to_lab(np.array([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]))
    np.testing.assert_allclose(lab[0, 0], [100, 0, 0], atol=1e-2)  # skimage: white at a, b ~ 0.005
    np.testing.assert_allclose(lab[0, 1], [0, 0, 0], atol=1e-3)
    np.testing.assert_allclose(lab[0, 2], [53.2408, 80.0925, 67.2032], atol=1e-3)  # sRGB red, D65


def test_network_scaling_and_inverse():
    lightness = np.array([0.0, 50.0, 100.0])
    np.testing.assert_allclose(colour.l_to_net(lightness), [0, 0.5, 1])
    np.testing.assert_allclose(colour.net_to_l(colour.l_to_net(lightness)), lightness, atol=1e-6)
    ab = np.array([-128.0, 0.0, 64.0])
    np.testing.assert_allclose(colour.ab_to_net(ab), [-1, 0, 0.5])
    np.testing.assert_allclose(colour.net_to_ab(colour.ab_to_net(ab)), ab, atol=1e-6)


def test_split_and_join_invert_each_other():
    rgb = random_rgb(2)
    l_net, ab_net = colour.split_lab(rgb)
    assert l_net.shape == (17, 23, 1) and ab_net.shape == (17, 23, 2)
    assert l_net.min() >= 0 and l_net.max() <= 1 and np.abs(ab_net).max() <= 1
    np.testing.assert_allclose(colour.join_lab(colour.net_to_l(l_net), ab_net), rgb, atol=1e-5)


def test_grey_of_lightness_matches_skimage():
    lightness = np.linspace(0, 100, 501)
    reference = skcolor.lab2rgb(np.stack([lightness, 0 * lightness, 0 * lightness], -1)[None])[0]
    # skimage's own "grey" is not exactly neutral: its channels differ by up to 4e-5 (white-point rounding).
    assert np.ptp(reference, axis=1).max() < 5e-5
    for channel in range(3):
        np.testing.assert_allclose(
            colour.l_to_grey_rgb(lightness / 100), reference[:, channel], atol=5e-5
        )


def test_out_of_gamut_colours_are_clipped_quietly():
    import warnings

    lab = np.array([[[2.0, 10.0, 120.0]]], np.float32)  # negative Z: scikit-image warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb = colour.lab_to_rgb(lab)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = np.clip(skcolor.lab2rgb(lab.astype(np.float64)), 0, 1)
    np.testing.assert_allclose(rgb, reference, atol=colour.RGB_TOLERANCE)
