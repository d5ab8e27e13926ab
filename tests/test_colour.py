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


def test_every_grey_level_and_a_sample_of_colours_agree_with_skimage():
    """8- and 16-bit images take their linear light from a table of every level, float images from the closed
    form; both against scikit-image on every grey level and 10^5 random colours (several blocks of pixels). The
    table is exact, so the integer path stays within a tenth of LAB_TOLERANCE, where a 16-bit index one level off
    (about 1e-3 L) would show."""
    rng = np.random.default_rng(4)
    for dtype in (np.uint8, np.uint16):
        top = np.iinfo(dtype).max
        greys = np.repeat(np.arange(top + 1, dtype=dtype)[:, None], 3, axis=1)
        colours = rng.integers(0, top + 1, (100_000, 3), dtype=dtype)
        for rgb in (greys, colours):
            reference = skcolor.rgb2lab(rgb)[:, 0]
            for image, tolerance in (
                (rgb, colour.LAB_TOLERANCE / 10),
                (rgb / np.float32(top), colour.LAB_TOLERANCE),
            ):
                lightness = colour.rgb_to_lightness(image)
                assert lightness.dtype == np.float32 and lightness.shape == (len(rgb),)
                assert np.abs(lightness - reference).max() <= tolerance, (dtype, image.dtype)


def test_lightness_keeps_any_shape_and_layout():
    rgb8 = (awkward_rgb() * 255).round().astype(np.uint8)
    whole = colour.rgb_to_lightness(rgb8)
    assert whole.shape == (40, 50)
    np.testing.assert_array_equal(colour.rgb_to_lightness(rgb8[::2, ::-1]), whole[::2, ::-1])
    np.testing.assert_array_equal(colour.rgb_to_lightness(rgb8[3, 4]), whole[3, 4])
    assert colour.rgb_to_lightness(np.zeros((0, 3), np.uint8)).shape == (0,)
    assert colour.lab_to_rgb(np.zeros((2, 0, 3))).shape == (2, 0, 3)


def test_lab_to_rgb_agrees_with_skimage_on_a_sample_of_colours_and_a_grey_ramp():
    """10^5 random 8-bit colours' LAB and a fine ramp of greys through both knees, in blocks as photos are."""
    rng = np.random.default_rng(5)
    lab = skcolor.rgb2lab(rng.integers(0, 256, (100_000, 3), dtype=np.uint8)).reshape(250, 400, 3)
    lightness = np.linspace(0, 100, 20_001)
    greys = np.stack([lightness, 0 * lightness, 0 * lightness], -1)
    for sample in (lab, greys):
        rgb = colour.lab_to_rgb(sample)
        assert rgb.dtype == np.float32 and rgb.shape == sample.shape
        np.testing.assert_allclose(
            rgb, np.clip(skcolor.lab2rgb(sample), 0, 1), atol=colour.RGB_TOLERANCE
        )


def test_photos_written_at_8_and_16_bits_are_the_exact_conversion_rounded():
    """What colourise writes (the sRGB rounded to 8 or 16 bits) against scikit-image's float64 conversion rounded:
    predicted-like colours, in and out of gamut, between levels. Never a level apart; float32's errors (about 1e-6)
    cross a 16-bit rounding edge for about 0.3 % of values (the closed forms before blocks and exp/log did too)."""
    import warnings

    rng = np.random.default_rng(6)
    lab = np.stack(
        [
            rng.uniform(0, 100, 100_000),
            rng.uniform(-80, 80, 100_000),
            rng.uniform(-80, 80, 100_000),
        ],
        -1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image warns of negative Z
        reference = np.clip(skcolor.lab2rgb(lab), 0, 1)
    rgb = colour.lab_to_rgb(lab)
    for top, exactly in ((255, 0.999), (65535, 0.995)):
        ours, exact = np.round(rgb * top), np.round(reference * top)
        assert np.abs(ours - exact).max() <= 1
        assert (ours == exact).mean() >= exactly, top
