"""The paper's own numbers, in one place: every table and sentence that sets a measurement beside the paper
reads them from here, never from a second copy."""

from __future__ import annotations

#: Figure 3: VGG16's convolutional base without the classifier.
ENCODER_PARAMS = 14_714_688
#: Figure 4: the decoder.
DECODER_PARAMS = 1_572_114
#: What Figure 3 prints for block3_conv2 and block3_conv3 (a typo: its own total needs 590,080).
BLOCK3_CONV_PARAMS = 590_880

#: Figure 11: (gpus, threads) -> seconds for 1000 epochs of 7000 images at 224 px, batch 64.
SECONDS = {(1, 1): 11351.00, (1, 2): 8481.83, (1, 4): 5542.05, (2, 1): 4860.35}
#: Section VI's text: the same speedups cut off after two decimals (its times' ratios round to 1.34, 2.05, 2.34).
TEXT_SPEEDUPS = {(1, 2): 1.33, (1, 4): 2.04, (2, 1): 2.33}
#: The workload those seconds trained (Section V).
WORKLOAD = dict(images=7000, epochs=1000, image_size=224, batch_size=64)


def implied_images_per_s() -> float:
    """The paper's 1-GPU throughput implied by Figure 11: 7000 images x 1000 epochs in 11351 s (~617 img/s at
    224 px), far beyond training a whole VGG16 on a 2019 GPU, so its timings are of the cached-features regime."""
    return WORKLOAD["images"] * WORKLOAD["epochs"] / SECONDS[(1, 1)]
