"""Host-built filesystem images (tools/fsimage.py): the boards' geometry, round trips, errors."""

import pytest

from tools import fsimage, paths


def test_geometry_is_the_linker_scripts_fs_region():
    for board in paths.BOARDS:
        address, size = fsimage.geometry(board)
        regions = paths.memory_regions(board)
        assert (address, size) == regions["FS"]
        code_start, code_size = regions["FLASH"]
        # Whole blocks, and clear of the image's code region.
        assert address % fsimage.block_size() == 0 and size % fsimage.block_size() == 0
        assert address >= code_start + code_size or address + size <= code_start
    assert fsimage.geometry("NUCLEO_L552ZE_Q")[0] + fsimage.geometry("NUCLEO_L552ZE_Q")[1] == (
        0x08080000
    ), "the NUCLEO's filesystem ends where its 512 KB of flash does"


def test_an_image_holds_the_folder(tmp_path):
    (tmp_path / "main.py").write_text("print('hi')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "data.bin").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty").mkdir()
    for board in paths.BOARDS:
        image = fsimage.image_of(tmp_path, board)
        assert len(image) == fsimage.geometry(board)[1]
        assert fsimage.files_of(image, board) == {
            "main.py": b"print('hi')\n",
            "lib/data.bin": bytes(range(256)) * 20,
        }


def test_a_folder_too_big_for_the_area_is_refused_by_name(tmp_path):
    (tmp_path / "big.bin").write_bytes(b"\x00" * (fsimage.geometry("MPS2_AN505")[1] + 1))
    with pytest.raises(fsimage.FsImageError, match="big.bin does not fit the MPS2_AN505's 160 KB"):
        fsimage.image_of(tmp_path, "MPS2_AN505")


def test_not_a_folder_and_not_an_image(tmp_path):
    with pytest.raises(fsimage.FsImageError, match="is not a folder"):
        fsimage.image_of(tmp_path / "missing", "MPS2_AN505")
    size = fsimage.geometry("MPS2_AN505")[1]
    with pytest.raises(fsimage.FsImageError, match="not a littlefs2 filesystem"):
        fsimage.files_of(b"\xff" * size, "MPS2_AN505")
    with pytest.raises(fsimage.FsImageError, match="the image is 10 bytes"):
        fsimage.files_of(b"\xff" * 10, "MPS2_AN505")


def test_the_emulated_flash_file_holds_an_image_where_the_board_reads_it(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "boot.py").write_text("x = 1\n")
    image = fsimage.image_of(tmp_path / "src", "MPS2_AN505")
    flash = fsimage.prepare_emulated_flash(tmp_path / "flash.img", image)
    assert flash.stat().st_size == fsimage.EMULATED_RAM_SIZE
    assert fsimage.read_emulated_flash(flash) == image
    # Prepared again without an image: the file and its filesystem are kept.
    fsimage.prepare_emulated_flash(flash)
    assert fsimage.files_of(fsimage.read_emulated_flash(flash), "MPS2_AN505") == {
        "boot.py": b"x = 1\n"
    }
