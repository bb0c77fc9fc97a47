"""Tests for sanity_checks.metrics (normalizations, similarities) and sanity_checks.edge."""
import numpy as np
import pytest
import saliency.core as sc
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

from sanity_checks import metrics as M
from sanity_checks.edge import edge_detector
from sanity_checks.errors import SanityCheckError

ALL = ["spearman_abs", "spearman_signed", "ssim", "hog"]


# ---------------------------------------------------------------------------------------------
# normalizations

def test_abs_norm_2d_hand_made():
    m = np.array([[-2.0, 1.0], [0.0, 4.0]])
    np.testing.assert_allclose(M.abs_norm(m), [[0.5, 0.25], [0.0, 1.0]])
    # (H, W, 1) is the 2-D rule, not the percentile one
    np.testing.assert_allclose(M.abs_norm(m[:, :, None]), [[0.5, 0.25], [0.0, 1.0]])


def test_abs_norm_3ch_equals_pair_visualize_grayscale():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((37, 41, 3)) * rng.uniform(0, 3, (37, 41, 1))
    out = M.abs_norm(m)
    assert out.shape == (37, 41)
    np.testing.assert_allclose(out, sc.VisualizeImageGrayscale(m, percentile=99), rtol=0, atol=1e-12)
    assert out.min() == 0 and out.max() == 1
    assert np.isclose((out == 1).mean(), 0.01, atol=0.002)  # the top 1 % is clipped to 1


def test_abs_norm_3ch_sparse_mask_is_finite_limit():
    m = np.zeros((20, 20, 3))
    m[3, 4, 1] = -5.0  # > 99 % of pixels at the minimum: PAIR divides 0 by 0
    with np.errstate(all="ignore"):
        assert np.isnan(sc.VisualizeImageGrayscale(m)).any()
    out = M.abs_norm(m)
    expected = np.zeros((20, 20))
    expected[3, 4] = 1.0
    np.testing.assert_array_equal(out, expected)


def test_diverging_norm_2d_hand_made():
    m = np.array([[-2.0, 1.0], [0.0, 4.0]])
    np.testing.assert_allclose(M.diverging_norm(m), [[-0.5, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(M.diverging_norm(m, mode="maxabs"), [[-0.5, 0.25], [0.0, 1.0]])


def test_diverging_norm_3ch_original_equals_pair_and_maps_zero_to_half():
    rng = np.random.default_rng(1)
    m = rng.standard_normal((30, 30, 3))
    m[0, 0, :] = [1.0, -1.0, 0.0]  # channel sum exactly 0
    out = M.diverging_norm(m)
    np.testing.assert_allclose(out, sc.VisualizeImageDiverging(m, percentile=99), rtol=0, atol=1e-12)
    assert out[0, 0] == 0.5  # the PAIR 0.0.4 quirk
    assert out.max() == 1.0 and out.min() >= -1.0


def test_diverging_norm_3ch_maxabs_hand_made():
    m = np.zeros((1, 2, 3))
    m[0, :, 0] = [1.0, -3.0]
    m[0, :, 1] = [1.0, 0.0]  # channel sum s = [2, -3]
    np.testing.assert_allclose(M.diverging_norm(m, mode="maxabs"), [[2 / 3, -1.0]])
    with pytest.raises(ValueError, match="original, maxabs"):
        M.diverging_norm(m, mode="bogus")


def test_minmax_norm_hand_made_float32():
    out = M.minmax_norm(np.array([[1, 3], [2, 5]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 0.5], [0.25, 1.0]])
    rng = np.random.default_rng(2)
    m = rng.standard_normal((8, 9, 3))
    out = M.minmax_norm(m)
    assert out.shape == m.shape and out.min() == 0 and out.max() == 1


def test_degenerate_all_zero_masks_give_zeros_not_nan():
    for shape in [(10, 12), (10, 12, 1), (10, 12, 3)]:
        z = np.zeros(shape)
        for fn in (M.abs_norm, M.diverging_norm, M.minmax_norm):
            out = fn(z)
            assert np.all(out == 0), (fn.__name__, shape)
        assert np.all(M.diverging_norm(z, mode="maxabs") == 0)
    assert np.all(M.minmax_norm(np.full((5, 5), 7.0)) == 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(bad):
    m = np.ones((8, 8, 3))
    m[2, 3, 1] = bad
    for fn in (M.abs_norm, M.diverging_norm, M.minmax_norm):
        with pytest.raises(ValueError, match="NaN or inf"):
            fn(m)
    with pytest.raises(ValueError, match="NaN or inf"):
        M.spearman_abs(m, np.ones_like(m))


def test_bad_ndim_raises():
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        M.abs_norm(np.ones(5))
    with pytest.raises(ValueError):
        M.minmax_norm(np.ones((2, 3, 4, 5)))


# ---------------------------------------------------------------------------------------------
# similarities

@pytest.mark.parametrize("shape", [(64, 64, 3), (64, 64), (64, 64, 1)])
def test_identical_masks_give_one(shape):
    m = np.random.default_rng(3).standard_normal(shape)
    for name in ALL:
        assert M.similarity(name, m, m.copy()) == pytest.approx(1.0, abs=1e-9), name
    assert M.hog_similarity(m, m, correlation="pearson") == pytest.approx(1.0, abs=1e-6)


def test_spearman_equals_scipy_on_normalized_vectors():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((40, 40, 3))
    b = a + rng.standard_normal((40, 40, 3))
    ref_abs = spearmanr(sc.VisualizeImageGrayscale(a).ravel(), sc.VisualizeImageGrayscale(b).ravel())[0]
    ref_sig = spearmanr(sc.VisualizeImageDiverging(a).ravel(), sc.VisualizeImageDiverging(b).ravel())[0]
    assert M.spearman_abs(a, b) == pytest.approx(ref_abs, abs=1e-12)
    assert M.spearman_signed(a, b) == pytest.approx(ref_sig, abs=1e-12)
    assert 0.3 < ref_abs < 0.9  # a non-trivial pair
    a2, b2 = a[:, :, 0], b[:, :, 0]
    assert M.spearman_abs(a2, b2) == pytest.approx(spearmanr(np.abs(a2).ravel(), np.abs(b2).ravel())[0])


def test_spearman_is_scipys_to_the_bit():
    """Our Spearman (no scipy.stats import at start-up) gives scipy's exact float on ties and random data."""
    from scipy.stats import rankdata
    rng = np.random.default_rng(41)
    cases = [(rng.standard_normal(n), rng.standard_normal(n)) for n in (2, 3, 17, 784, 5000)]
    cases += [(rng.integers(0, k, 900).astype(float), rng.integers(0, 5, 900).astype(float)) for k in (2, 3, 50)]
    sparse = np.where(rng.random(784) < 0.8, 0.0, rng.random(784))          # a ReLU-like map: mostly ties at 0
    cases += [(sparse, np.abs(sparse + 0.1 * rng.standard_normal(784))), (sparse, np.r_[1.0, np.zeros(783)])]
    cases += [(np.float32(rng.random(784)), rng.random(784)), (np.r_[-0.0, 0.0, 1.0], np.r_[0.0, 1.0, 2.0])]
    for x, y in cases:
        assert M.spearman(x, y) == spearmanr(x, y).statistic
        assert np.array_equal(M.average_ranks(x), rankdata(x))


def test_sign_flip():
    rng = np.random.default_rng(5)
    m2 = rng.standard_normal((30, 30))
    m3 = rng.standard_normal((30, 30, 3))
    assert M.spearman_abs(m2, -m2) == pytest.approx(1.0)
    assert M.spearman_abs(m3, -m3) == pytest.approx(1.0)
    assert M.spearman_signed(m2, -m2) == pytest.approx(-1.0)
    assert M.spearman_signed(m3, -m3, mode="maxabs") == pytest.approx(-1.0)
    # the original 3-channel rule clips the tails (ties), so it is only close to -1
    assert -1.0 <= M.spearman_signed(m3, -m3) < -0.99


@pytest.mark.parametrize("name", ALL)
def test_mismatched_shapes_raise_with_both_shapes(name):
    a, b = np.ones((64, 64, 3)), np.ones((64, 60, 3))
    with pytest.raises(ValueError) as err:
        M.similarity(name, a, b)
    assert "(64, 64, 3)" in str(err.value) and "(64, 60, 3)" in str(err.value)
    assert isinstance(err.value, SanityCheckError)


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError) as err:
        M.similarity("pearson_abs", np.ones((4, 4)), np.ones((4, 4)))
    for name in ALL:
        assert name in str(err.value)
    assert set(M.METRICS) == set(ALL)


def test_degenerate_mask_similarities_are_finite():
    rng = np.random.default_rng(6)
    z = np.zeros((64, 64, 3))
    m = rng.standard_normal((64, 64, 3))
    for name in ("spearman_abs", "spearman_signed", "hog"):
        with pytest.warns(M.DegenerateMaskWarning):
            assert M.similarity(name, z, m) == 0.0
    # Two identical degenerate masks did not change (consistent with SSIM below); no warning needed
    assert M.similarity("spearman_abs", z, z) == 1.0
    assert M.similarity("spearman_signed", z, 2 * z) == 1.0
    s = M.ssim(z, m)
    assert np.isfinite(s) and abs(s) < 0.1
    assert M.ssim(z, z) == pytest.approx(1.0)


def test_ssim_matches_original_effective_settings():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((60, 50, 3))
    b = a + 2 * rng.standard_normal((60, 50, 3))
    a01 = ((a - a.min()) / (a.max() - a.min())).astype(np.float32).astype(np.float64)
    b01 = ((b - b.min()) / (b.max() - b.min())).astype(np.float32).astype(np.float64)
    ref = structural_similarity(a01, b01, gaussian_weights=True, sigma=1.5, use_sample_covariance=True,
                                data_range=2, channel_axis=-1)  # skimage's own default window: 11
    assert M.ssim(a, b) == pytest.approx(ref, abs=1e-6)
    assert 0.05 < ref < 0.95


def test_ssim_win_size_sets_the_gaussian_window():
    # skimage ignores win_size for the filter when gaussian_weights=True: sigma 1.5 always gives an
    # 11-tap Gaussian. Show it on the local SSIM map of a one-pixel change at the image centre.
    a = np.zeros((41, 41))
    b = a.copy()
    b[20, 20] = 1.0

    def footprint(sigma):
        _, smap = structural_similarity(a, b, win_size=5, gaussian_weights=True, sigma=sigma,
                                        data_range=2, full=True)
        rows = np.nonzero((smap < 1 - 1e-12).any(axis=1))[0]
        return rows.max() - rows.min() + 1

    assert footprint(1.5) == 11                # the naive call: still an 11-pixel window
    assert footprint(1.5 * 5 / 11) == 5        # the sigma metrics.ssim derives for win_size=5
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((2, 40, 40, 3))
    x01, y01 = (M.minmax_norm(v).astype(np.float64) for v in (x, y))
    ref5 = structural_similarity(x01, y01, win_size=5, gaussian_weights=True, sigma=1.5 * 5 / 11,
                                 data_range=2, channel_axis=-1)
    assert M.ssim(x, y, win_size=5) == pytest.approx(ref5, abs=1e-9)
    assert M.ssim(x, y, win_size=5) != pytest.approx(M.ssim(x, y), abs=1e-3)
    with pytest.raises(ValueError, match="11-pixel Gaussian window"):
        M.ssim(x, y, win_size=5, sigma=1.5)
    with pytest.raises(ValueError, match="odd"):
        M.ssim(x, y, win_size=6)
    # a uniform window is skimage's own meaning of win_size
    assert np.isfinite(M.ssim(x, y, win_size=5, gaussian_weights=False))


def test_ssim_on_mnist_sized_masks():
    rng = np.random.default_rng(9)
    a = rng.standard_normal((28, 28))
    assert M.ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        M.ssim(np.ones((8, 8)), np.ones((8, 8)))


def test_hog_vector_length_and_small_masks():
    rng = np.random.default_rng(10)
    assert M.hog_features(rng.standard_normal((299, 299, 3))).shape == (20736,)
    assert M.hog_features(rng.standard_normal((299, 299))).shape == (20736,)
    mn = rng.standard_normal((28, 28))
    with pytest.raises(ValueError, match="at least 48x48"):
        M.hog_similarity(mn, mn)
    # explicit smaller cells work for MNIST: 7x7 cells -> 5x5 blocks of 3x3x9
    assert M.hog_features(mn, pixels_per_cell=(4, 4)).shape == (5 * 5 * 81,)
    assert M.hog_similarity(mn, mn, pixels_per_cell=(4, 4)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="spearman"):
        M.hog_similarity(mn, mn, correlation="kendall")


# ---------------------------------------------------------------------------------------------
# calibration against the paper's Appendix B (two independent random masks, 299x299x3)

N_PAIRS = 4


@pytest.fixture(scope="module")
def calibration():
    rng = np.random.default_rng(2018)
    out = {}
    for dist in ("gaussian", "uniform"):
        vals = {k: [] for k in ALL + ["hog_pearson", "hog_1ch", "ssim_floor", "ssim_tiny_range"]}
        for _ in range(N_PAIRS):
            if dist == "gaussian":
                a, b = rng.standard_normal((2, 299, 299, 3))
            else:
                a, b = rng.uniform(-1, 1, (2, 299, 299, 3))
            for k in ALL:
                vals[k].append(M.similarity(k, a, b))
            vals["hog_pearson"].append(M.hog_similarity(a, b, correlation="pearson"))
            vals["hog_1ch"].append(M.hog_similarity(a[:, :, 0], b[:, :, 0]))
            vals["ssim_tiny_range"].append(M.ssim(a, b, data_range=1e-3))
            # SSIM of independent noise ~ C2 / (var_a + var_b + C2), C2 = (0.03 * data_range)^2
            c2 = (0.03 * 2) ** 2
            va, vb = M.minmax_norm(a).var(), M.minmax_norm(b).var()
            vals["ssim_floor"].append(c2 / (va + vb + c2))
        out[dist] = {k: float(np.mean(v)) for k, v in vals.items()}
    return out


def test_calibration_rank_correlations_near_zero(calibration):
    # paper App. B: |no-abs rank|, |abs rank| <= 0.0015 on both distributions
    for dist in ("gaussian", "uniform"):
        assert abs(calibration[dist]["spearman_abs"]) < 0.01, dist
        assert abs(calibration[dist]["spearman_signed"]) < 0.01, dist


def test_calibration_hog(calibration):
    g, u = calibration["gaussian"], calibration["uniform"]
    # paper: Gaussian -0.0013. Measured: ~0.02 (per-pair sd ~0.02; zero-gradient image borders are shared)
    assert abs(g["hog"]) < 0.05 and abs(g["hog_pearson"]) < 0.05
    # paper: Uniform 0.078. 3-channel masks give ~0.36 (the anisotropic gradients of uniform noise
    # give both HOG vectors the same orientation-bin profile); one channel gives ~0.06-0.07
    assert 0.30 < u["hog"] < 0.42 and 0.30 < u["hog_pearson"] < 0.42
    assert 0.03 < u["hog_1ch"] < 0.12


def test_calibration_ssim(calibration):
    g, u = calibration["gaussian"], calibration["uniform"]
    # paper: ~0.0002. With the code's settings ([0,1] masks, data_range 2) SSIM has a floor set by C2:
    assert 0.12 < g["ssim"] < 0.16 and 0.01 < u["ssim"] < 0.035
    for d in (g, u):
        assert d["ssim"] == pytest.approx(d["ssim_floor"], abs=0.01)
        assert abs(d["ssim_tiny_range"]) < 0.01  # without the stabilizers it is ~0, as in the paper


# ---------------------------------------------------------------------------------------------
# edge detector baseline

def test_edge_detector_vertical_step():
    img = np.zeros((20, 20))
    img[:, 10:] = 1.0
    out = edge_detector(img)
    assert out.shape == img.shape
    cols = np.nonzero(out.max(axis=0) > 1e-12)[0]
    assert list(cols) == [9, 10]  # the two pixels either side of the step, nothing else
    np.testing.assert_allclose(out[:, 9], out[0, 9])  # uniform down the step (reflect borders)
    assert out[0, 9] > 0


def test_edge_detector_shapes_and_channels():
    rng = np.random.default_rng(11)
    img = np.zeros((16, 18, 3))
    img[:, 8:, 0] = 1.0  # step only in channel 0; channel 1 constant; channel 2 noise
    img[:, :, 1] = 0.3
    img[:, :, 2] = rng.uniform(size=(16, 18))
    out = edge_detector(img)
    assert out.shape == img.shape
    assert np.allclose(out[:, :, 1], 0, atol=1e-12) and out[:, :, 0].max() > 0 and out[:, :, 2].max() > 0
    batch = np.stack([img, img[::-1]])
    outb = edge_detector(batch)
    assert outb.shape == batch.shape
    np.testing.assert_allclose(outb[0], out)
    assert edge_detector(batch[..., :1]).shape == (2, 16, 18, 1)
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\)"):
        edge_detector(np.zeros((10, 28, 28)))
    with pytest.raises(ValueError, match="NaN or inf"):
        edge_detector(np.full((8, 8), np.nan))
