"""Image files as model inputs: one reader for every architecture (``sanity_checks.images``)."""
import numpy as np
import pytest
from PIL import Image

from sanity_checks import imagenet
from sanity_checks.errors import DataError
from sanity_checks.images import ImageError, image_folder, read_image, read_pixels
from sanity_checks.models import get_architecture


@pytest.fixture
def photo(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    path = str(tmp_path / "photo.png")
    Image.fromarray(pixels, "RGB").save(path)
    return path, pixels


def test_grayscale_model_gets_luminance_resized_and_scaled_to_0_1(photo):
    path, pixels = photo
    x = read_image(path, get_architecture("cnn"))
    expected = np.asarray(Image.fromarray(pixels).convert("L").resize((28, 28), Image.LANCZOS), np.float32) / 255
    assert x.shape == (28, 28, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], expected)


def test_inception_input_is_the_originals_load_image_to_the_bit(photo):
    path, pixels = photo
    x = read_image(path, get_architecture("inception_v3"))
    expected = np.asarray(Image.fromarray(pixels).resize((299, 299), Image.LANCZOS), np.float32) / 127.5 - 1
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(imagenet.load_image(path), x)
    assert x.min() >= -1 and x.max() <= 1


def test_read_pixels_maps_0_and_255_to_the_ends_of_the_range(tmp_path):
    path = str(tmp_path / "two.png")
    Image.fromarray(np.array([[0, 255]], np.uint8), "L").save(path)
    x = read_pixels(path, (1, 2, 1), (-3.0, 5.0))
    np.testing.assert_array_equal(x[0, :, 0], [-3.0, 5.0])


def test_npy_files_pass_through_and_wrong_shapes_are_refused(tmp_path):
    arch = get_architecture("cnn")
    good = np.random.default_rng(0).uniform(size=(28, 28, 1)).astype(np.float32)
    np.save(tmp_path / "good.npy", good)
    np.testing.assert_array_equal(read_image(str(tmp_path / "good.npy"), arch), good)
    np.save(tmp_path / "bad.npy", good[:10])
    with pytest.raises(ImageError, match=r"shape \(10, 28, 1\)"):
        read_image(str(tmp_path / "bad.npy"), arch)


def test_missing_and_unreadable_files_are_data_errors(tmp_path):
    assert issubclass(ImageError, DataError)
    with pytest.raises(ImageError, match="does not exist"):
        read_image(str(tmp_path / "none.png"), get_architecture("cnn"))
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError, match="cannot read image"):
        read_pixels(str(tmp_path / "text.png"), (28, 28, 1))


def test_image_folder_orders_classes_and_files_by_name(tmp_path, photo):
    path, pixels = photo
    for cls, names in {"b_class": ["2.png", "1.png"], "a_class": ["z.png"]}.items():
        (tmp_path / "tree" / cls).mkdir(parents=True)
        for name in names:
            Image.fromarray(pixels).save(tmp_path / "tree" / cls / name)
    (tmp_path / "tree" / "a_class" / "notes.txt").write_text("not an image")
    folder = image_folder(str(tmp_path / "tree"))
    assert folder.classes == ["a_class", "b_class"]
    assert [p.split("tree/")[1] for p in folder.paths] == ["a_class/z.png", "b_class/1.png", "b_class/2.png"]
    assert folder.targets.tolist() == [0, 1, 1] and len(folder) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="holds no images"):
        image_folder(str(tmp_path / "empty"))
