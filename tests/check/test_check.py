"""The sheet doctor (motionmap check): each defect kind on small synthetic sheets, the JSON form, exit codes and
bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionmap.check.components import label_components
from motionmap.check.detect import check_grid
from motionmap.check.grid import sheet_grid
from motionmap.check.inject import INJECTORS
from motionmap.cli import main
from motionmap.io.images import write_png
from motionmap.synth import SYNTH_LAYOUT, render_sheet, sample_character


@pytest.fixture(scope="module")
def synth_sheet() -> np.ndarray:
    return render_sheet(sample_character(0))  # uint8 [1280, 512, 4]: 20 rows (5 actions x 4 facings) of 8 frames


@pytest.fixture(scope="module")
def clean_flags(synth_sheet):
    return check_grid(sheet_grid(synth_sheet, SYNTH_LAYOUT))


def test_clean_synthetic_sheet_has_no_flags(clean_flags):
    assert clean_flags == []


# Seeds whose random cell allows the defect (checked: each injects at an inner frame of some row).
@pytest.mark.parametrize("kind,seed", [("hole", 1), ("speck", 0), ("shift", 1), ("order", 1), ("colour", 0)])
def test_each_kind_is_found_where_it_was_injected(synth_sheet, clean_flags, kind, seed):
    rng = np.random.default_rng(seed)
    grid = sheet_grid(synth_sheet.copy(), SYNTH_LAYOUT)
    r = int(rng.integers(len(SYNTH_LAYOUT.rows)))
    f = int(rng.integers(1, grid.row_frames(r) - 1))
    cells = INJECTORS[kind](grid, r, f, rng)
    assert cells, "the injector found no room at this cell"
    assert not np.array_equal(grid.cells.transpose(0, 2, 1, 3, 4).reshape(synth_sheet.shape), synth_sheet)
    flags = check_grid(grid)
    hits = [fl for fl in flags if fl.kind == kind and (fl.row, fl.frame) in cells]
    assert hits, f"{kind} at {cells} not found; flags: {[(fl.row, fl.frame, fl.kind) for fl in flags]}"
    assert all(0 < fl.score <= 1 for fl in flags)
    assert not [fl for fl in clean_flags if (fl.row, fl.frame) in cells]


def test_colour_spot_is_judged_apart_from_the_arts_own_one_frame_colour(synth_sheet, monkeypatch):
    # A frame holding a one-frame colour of the art's own (the prior knows that spot) and, elsewhere, a recoloured
    # spot: the known spot must not excuse the recoloured one, and only the recoloured pixels are reported.
    import motionmap.check.detect as detect

    rng = np.random.default_rng(0)
    grid = sheet_grid(synth_sheet.copy(), SYNTH_LAYOUT)
    r = int(rng.integers(len(SYNTH_LAYOUT.rows)))
    f = int(rng.integers(1, grid.row_frames(r) - 1))
    before = grid.cells[r, f].copy()
    assert INJECTORS["colour"](grid, r, f, rng)
    blob = (grid.cells[r, f] != before).any(axis=-1)
    by, bx = np.nonzero(blob)
    oy, ox = np.nonzero((grid.cells[r, f, ..., 3] == 255) & ~detect.dilate(blob, 3))
    own = (int(oy[0]), int(ox[0]))
    grid.cells[r, f][own] = (3, 251, 129, 255)  # a colour nowhere else in the sheet
    monkeypatch.setattr(detect, "natural_spot", lambda g, kind, row, frame, pixels: bool(pixels[own]))
    flags = [fl for fl in check_grid(grid) if fl.kind == "colour" and (fl.row, fl.frame) == (r, f)]
    assert len(flags) == 1
    assert set(flags[0].pixels) == set(zip(by.tolist(), bx.tolist()))


def test_near_miss_spot_in_a_pose_found_nowhere_else(synth_sheet, monkeypatch):
    # A pose whose surroundings recur nowhere in the sheet (recurrences find nothing): a few pixels painted in one
    # near-miss colour are still flagged, unless another frame holds a one-frame colour like it (the art's own
    # effect, recoloured from frame to frame); a single odd pixel alone is not enough.
    import motionmap.check.detect as detect

    monkeypatch.setattr(detect, "recurrences", lambda keys, grid, r, f, region: (np.zeros(0), np.zeros((0, 0))))

    def colour_flags(paint):
        grid = sheet_grid(synth_sheet.copy(), SYNTH_LAYOUT)
        for (r, f, y, x), colour in paint.items():
            grid.cells[r, f, y, x] = colour
        return [(fl.row, fl.frame) for fl in detect.find_colours(grid)]

    inside = detect.dilate(~(synth_sheet[64 * 5 : 64 * 6, 64 * 3 : 64 * 4, 3] == 255), 2)
    ys, xs = np.nonzero(~inside)
    y, x = int(ys[len(ys) // 2]), int(xs[len(xs) // 2])
    base = synth_sheet[64 * 5 + y, 64 * 3 + x, :3].astype(int)
    near = tuple(int(v) for v in np.clip(base + (20, -12, 9), 0, 255)) + (255,)
    spot = {(5, 3, y, x): near, (5, 3, y, x + 1): near, (5, 3, y + 1, x): near}
    assert colour_flags(spot) == [(5, 3)]
    assert colour_flags({(5, 3, y, x): near}) == []
    other = tuple(int(v) for v in np.clip(np.array(near[:3]) + 10, 0, 255)) + (255,)
    assert colour_flags({**spot, (9, 2, y, x): other, (9, 2, y, x + 1): other}) == []


def test_speck_far_from_everything_is_flagged_with_its_pixels(synth_sheet):
    grid = sheet_grid(synth_sheet.copy(), SYNTH_LAYOUT)
    assert not grid.cells[2, 3, 1:4, 1:4, 3].any()  # the corner of that cell is empty
    grid.cells[2, 3, 2, 2] = (200, 30, 30, 255)
    specks = [fl for fl in check_grid(grid) if fl.kind == "speck"]
    assert [(fl.row, fl.frame, fl.pixels) for fl in specks] == [(2, 3, [(2, 2)])]


def test_components_split_and_count():
    mask = np.zeros((2, 6, 6), bool)
    mask[0, 0, 0] = mask[0, 1, 1] = True  # diagonal: one 8-connected component, two 4-connected ones
    mask[1, 5, 5] = True
    labels8, sizes8 = label_components(mask, 8)
    labels4, sizes4 = label_components(mask, 4)
    assert labels8[0, 0, 0] == labels8[0, 1, 1] and sizes8[0, 0, 0] == 2
    assert labels4[0, 0, 0] != labels4[0, 1, 1] and sizes4[0, 0, 0] == 1
    assert labels8[1, 5, 5] not in (labels8[0, 0, 0], -1)
    assert (labels8[~mask] == -1).all() and (sizes8[~mask] == 0).all()


# --- the command ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def small_sheets(tmp_path, synth_sheet):
    """A clean 8x4 grid of 64x64 frames (the walk rows) and the same with a speck; as PNG files."""
    clean = np.ascontiguousarray(synth_sheet[: 4 * 64])
    bad = clean.copy()
    assert not bad[64 + 2 : 64 + 5, 3 * 64 + 2 : 3 * 64 + 5, 3].any()
    bad[64 + 3, 3 * 64 + 3] = (20, 200, 20, 255)  # row 1, frame 3
    return write_png(tmp_path / "clean.png", clean), write_png(tmp_path / "bad.png", bad)


def test_exit_0_when_nothing_flagged(small_sheets, capsys):
    clean, _ = small_sheets
    assert main(["check", str(clean), "--frame-size", "64x64"]) == 0
    assert "nothing flagged" in capsys.readouterr().out


def test_exit_1_table_json_and_picture(small_sheets, tmp_path, capsys):
    clean, bad = small_sheets
    out_json, out_png = tmp_path / "flags.json", tmp_path / "flags.png"
    code = main(["check", str(bad), str(clean), "--frame-size", "64x64", "--json", str(out_json),
                 "--picture", str(out_png)])
    assert code == 1
    out = capsys.readouterr().out
    assert "speck" in out and "row1" in out
    data = json.loads(out_json.read_text())
    assert data == {"sheets": [
        {"path": str(bad), "flags": [{"row": 1, "frame": 3, "animation": "row1", "facing": None, "kind": "speck",
                                      "score": data["sheets"][0]["flags"][0]["score"]}]},
        {"path": str(clean), "flags": []},
    ]}
    assert 0.5 <= data["sheets"][0]["flags"][0]["score"] <= 1
    from motionmap.io.images import read_image

    pic = read_image(tmp_path / "flags-1.png")
    assert pic.shape[:2] == (256, 512)
    box = pic[64:128, 3 * 64 : 4 * 64, :3].reshape(-1, 3)
    assert ((box == (240, 140, 0)).all(axis=1)).any()  # the speck's box colour
    assert (tmp_path / "flags-2.png").is_file()
    # The outputs exist now: a second run refuses to overwrite them, exit 2.
    assert main(["check", str(bad), "--frame-size", "64x64", "--json", str(out_json)]) == 2


@pytest.mark.parametrize("case", ["missing", "corrupt", "wrong_size", "bad_frame_size", "frame_size_not_dividing",
                                  "nothing"])
def test_bad_input_exits_2_with_one_line(case, small_sheets, tmp_path, capsys):
    clean, _ = small_sheets
    args = {
        "missing": ["check", str(tmp_path / "nope.png")],
        "corrupt": ["check", str(_corrupt(tmp_path))],
        "wrong_size": ["check", str(clean)],  # 512x256 is no LPC sheet and has no --frame-size
        "bad_frame_size": ["check", str(clean), "--frame-size", "sixty"],
        "frame_size_not_dividing": ["check", str(clean), "--frame-size", "100x100"],
        "nothing": ["check"],
    }[case]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motionmap: error: ") and "\n" not in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.json"))


def _corrupt(tmp_path):
    path = tmp_path / "corrupt.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return path


def test_layers_flag_a_moved_layer(tmp_path, synth_sheet):
    """--layers: a layer moved 2 px up and 1 px right in one frame is flagged ``shift`` on that layer."""
    from motionmap.check.align import shift_rgba
    from motionmap.layout import LPC_LAYOUT

    # An LPC-sized character of two layers: the synthetic sprite as the body, a recoloured copy of it on top.
    body = np.zeros((1344, 832, 4), np.uint8)
    body[:1280, :512] = synth_sheet
    top = sheet_grid(body.copy(), LPC_LAYOUT)
    top.cells[..., :3] = 255 - top.cells[..., :3]
    top.cells[9, 4] = shift_rgba(top.cells[9, 4], -2, 1)
    folder = tmp_path / "hero"
    folder.mkdir()
    write_png(folder / "body.png", body)
    write_png(folder / "hair.png", top.cells.transpose(0, 2, 1, 3, 4).reshape(body.shape))
    out_json = tmp_path / "layers.json"
    assert main(["check", "--layers", str(folder), "--json", str(out_json)]) == 1
    flags = json.loads(out_json.read_text())["sheets"][0]["flags"]
    on_layer = [fl for fl in flags if fl.get("layer") == "hair"]
    assert [(fl["row"], fl["frame"], fl["kind"]) for fl in on_layer] == [(9, 4, "shift")]


def _body_and_eyes(move_eyes=None, pose_of=None):
    """An LPC-sized character of two layers made in the test: a textured body that bobs and sways from frame to
    frame (a rigid move per frame) and a 5-px eyes layer drawn on its face; ``move_eyes`` = (row, frame, dy, dx)
    moves the eyes alone in one frame (or a list of them, several frames). ``pose_of(row, frame)``: a number per
    frame; frames with different numbers get differently drawn legs (the lower third of the body), so only the
    frames with the same number show the same body pose (default: one pose everywhere)."""
    from motionmap.check.align import shift_rgba
    from motionmap.layout import LPC_LAYOUT

    rng = np.random.default_rng(0)
    palette = rng.integers(40, 220, (6, 3))
    yy, xx = np.mgrid[:30, :18]
    blob = ((yy - 14.5) / 15) ** 2 + ((xx - 8.5) / 9) ** 2 <= 1
    body_px = np.zeros((30, 18, 4), np.uint8)
    body_px[blob, :3] = palette[rng.integers(0, 6, int(blob.sum()))]
    body_px[blob, 3] = 255
    eyes_px = np.zeros((30, 18, 4), np.uint8)
    for (y, x), c in zip([(6, 5), (6, 6), (6, 11), (6, 12), (7, 9)], [255, 20, 255, 20, 120]):
        eyes_px[y, x] = (c, c, 255 - c, 255)
    body = sheet_grid(np.zeros((1344, 832, 4), np.uint8), LPC_LAYOUT)
    eyes = sheet_grid(np.zeros((1344, 832, 4), np.uint8), LPC_LAYOUT)
    legs = blob & (yy >= 20)
    for r, spec in enumerate(LPC_LAYOUT.rows):
        for f in range(spec.frames):
            y, x = 18 + (0, 1, 2, 1)[f % 4], 20 + (r + f) % 3
            posed = body_px.copy()
            if pose_of is not None:
                posed[legs, :3] = palette[np.random.default_rng([1, pose_of(r, f)]).integers(0, 6, int(legs.sum()))]
            body.cells[r, f, y : y + 30, x : x + 18] = posed
            eyes.cells[r, f, y : y + 30, x : x + 18] = eyes_px
    moves = [] if move_eyes is None else [move_eyes] if isinstance(move_eyes, tuple) else move_eyes
    for r, f, dy, dx in moves:
        eyes.cells[r, f] = shift_rgba(eyes.cells[r, f], dy, dx)
    as_sheet = lambda g: g.cells.transpose(0, 2, 1, 3, 4).reshape(1344, 832, 4)  # noqa: E731
    return {"body": as_sheet(body), "eyes": as_sheet(eyes)}


def test_layers_flag_small_eyes_moved_one_pixel():
    """A 5-px eyes layer moved 1 px down in one frame (walk left, frame 4) is flagged there, on the eyes, with the
    move that puts it back; the frames around it are not."""
    from motionmap.check.sheets import check_layers

    flags = [fl for fl in check_layers(_body_and_eyes(move_eyes=(9, 4, 1, 0))) if fl.layer is not None]
    assert [(fl.row, fl.frame, fl.kind, fl.layer, fl.move) for fl in flags] == [(9, 4, "shift", "eyes", (-1, 0))]
    assert "1 px down" in flags[0].explanation


def test_layers_clean_character_has_no_layer_flags():
    """The same character with its eyes in place everywhere: no layer flag, though the body moves every frame."""
    from motionmap.check.sheets import check_layers

    assert [fl for fl in check_layers(_body_and_eyes()) if fl.layer is not None] == []


def test_layer_offset_next_to_a_moved_frame_is_explained_by_it():
    """The neighbours of a moved layer frame see it out of place too; it explains them (they are not flagged)."""
    from motionmap.check.grid import sheet_grid as grid_of
    from motionmap.check.layers import layer_offsets, pair_matches
    from motionmap.layout import LPC_LAYOUT

    layers = _body_and_eyes(move_eyes=(10, 3, 0, 2))
    offsets = layer_offsets(pair_matches(grid_of(layers["body"], LPC_LAYOUT), grid_of(layers["eyes"], LPC_LAYOUT)))
    assert list(offsets) == [(10, 3)] and offsets[(10, 3)][0] == (0, -2)


def _thrust_hold(r, f):
    """Every frame its own pose, except thrust-up (row 4) frames 3 and 7: the same pose (as in LPC thrust rows)."""
    return r * 16 + (3 if (r, f) == (4, 7) else f)


def test_same_pose_frames_are_the_frames_an_animation_returns_to():
    from motionmap.check.grid import sheet_grid as grid_of
    from motionmap.check.layers import same_pose_frames
    from motionmap.layout import LPC_LAYOUT

    poses = same_pose_frames(grid_of(_body_and_eyes(pose_of=_thrust_hold)["body"], LPC_LAYOUT))
    # Frame 7 sits 1 px right of frame 3 (the body sways), so the pose reappears moved by (0, 1).
    assert poses == {(4, 3): [(7, (0, 1))], (4, 7): [(3, (0, -1))]}


def test_layer_drawn_off_the_body_on_both_frames_of_one_pose_is_not_flagged():
    """Eyes 1 px lower on the body in thrust-up frames 3 and 7, which show the same body pose: the neighbouring
    frames see both off the body, but the layer sits the same way wherever the row returns to that pose, so it is
    how the layer is drawn, not a slip (the real Universal LPC tunics do this)."""
    from motionmap.check.grid import sheet_grid as grid_of
    from motionmap.check.layers import layer_offsets, pair_matches, same_pose_frames
    from motionmap.check.sheets import check_layers
    from motionmap.layout import LPC_LAYOUT

    layers = _body_and_eyes(move_eyes=[(4, 3, 1, 0), (4, 7, 1, 0)], pose_of=_thrust_hold)
    body, eyes = grid_of(layers["body"], LPC_LAYOUT), grid_of(layers["eyes"], LPC_LAYOUT)
    offsets = layer_offsets(pair_matches(body, eyes, same_pose_frames(body)))
    assert {cell: v[0] for cell, v in offsets.items()} == {(4, 3): (-1, 0), (4, 7): (-1, 0)}  # both are seen off
    assert [fl for fl in check_layers(layers) if fl.layer is not None] == []


def test_layer_moved_in_one_frame_of_a_repeated_pose_is_flagged():
    """The same move in frame 3 alone: frame 7, the same pose, has the eyes in place, so frame 3 is a slip."""
    from motionmap.check.sheets import check_layers

    flags = [fl for fl in check_layers(_body_and_eyes(move_eyes=(4, 3, 1, 0), pose_of=_thrust_hold))
             if fl.layer is not None]
    assert [(fl.row, fl.frame, fl.layer, fl.move) for fl in flags] == [(4, 3, "eyes", (-1, 0))]


def test_ulpc_tunic_thrust_hold_is_the_drawing_and_a_moved_frame_still_is_found(ulpc_root):
    """Universal LPC female tunics sit 1 px higher on the body in thrust-up frames 3 and 7 (same body pose) than
    their neighbours have them: both frames agree, so no flag; the tunic moved 2 px in frame 3 alone is flagged
    there."""
    from motionmap.check.align import shift_rgba
    from motionmap.check.layers import layer_offsets, layer_shifts, pair_matches, same_pose_frames
    from motionmap.layout import LPC_LAYOUT

    body = sheet_grid(read_sheet(ulpc_root / "body" / "female" / "light.png"), LPC_LAYOUT)
    tunic = sheet_grid(read_sheet(ulpc_root / "torso" / "tunics" / "female" / "teal_tunic.png"), LPC_LAYOUT)
    poses = same_pose_frames(body)
    assert 7 in [g for g, _ in poses[(4, 3)]]
    offsets = layer_offsets(pair_matches(body, tunic, poses))
    assert (4, 3) in offsets and (4, 7) in offsets  # the neighbours do see the tunic off the body there
    assert not [fl for fl in layer_shifts(body, tunic, "torso", poses) if fl.row == 4]
    tunic.cells[4, 3] = shift_rgba(tunic.cells[4, 3], 0, 2)
    flagged = [(fl.row, fl.frame) for fl in layer_shifts(body, tunic, "torso", poses)]
    # Frame 7 loses the frame that confirmed its drawing, so it may be reported too; frame 3 must be.
    assert (4, 3) in flagged and set(flagged) <= {(4, 3), (4, 7)}


def test_a_mirrored_frame_alone_does_not_decide_which_of_two_moved():
    """Walk-left frame 4 and walk-right frame 4 (mirror images) each see the other's layer 1 px off and have no
    other witness: which one moved cannot be told, so neither is flagged. The same evidence from a frame of the
    row itself is enough."""
    from motionmap.check.align import shift_list
    from motionmap.check.layers import PairMatch, layer_offsets, mirror_rows
    from motionmap.layout import LPC_LAYOUT

    assert mirror_rows(LPC_LAYOUT)[9] == 11 and mirror_rows(LPC_LAYOUT)[11] == 9 and 10 not in mirror_rows(LPC_LAYOUT)
    moves = shift_list()
    layer = np.full((1, len(moves)), 10)
    layer[0, moves.index((1, 0))] = 20  # all 20 layer px match with the layer moved 1 px down, half in place
    body = np.full((1, len(moves)), 40)
    body[0, moves.index((1, 0))] = 30  # the body under it matches in place, not moved

    def matches(flipped):
        return {(9, 4): PairMatch([(11, 4)], layer, body, body, 20, 40, np.array([flipped])),
                (11, 4): PairMatch([(9, 4)], layer, body, body, 20, 40, np.array([flipped]))}

    assert layer_offsets(matches(flipped=True)) == {}
    assert {cell: v[0] for cell, v in layer_offsets(matches(flipped=False)).items()} == {(9, 4): (1, 0),
                                                                                          (11, 4): (1, 0)}


def test_mirrored_frame_decides_when_only_one_row_leans_to_its_move():
    """Walk-left frame 4 and walk-right frame 4 see each other's layer 1 px off, and neither row has a frame that
    matches well enough to witness: the row whose frames (loosely) prefer the move too is the one that moved. Walk
    left's neighbour matches 4 more layer px with the move than in place, walk right's 4 fewer: walk left is flagged,
    walk right is not."""
    from motionmap.check.align import shift_list
    from motionmap.check.layers import PairMatch, layer_offsets

    moves = shift_list()
    zero, down, up = len(moves) // 2, moves.index((1, 0)), moves.index((-1, 0))

    def match(own_gain, move):
        layer = np.full((2, len(moves)), 2)
        layer[0, zero], layer[0, move] = 6 - own_gain, 6  # own-row neighbour: 6 of 20 layer px at best
        layer[1, move] = 20  # the mirrored partner: every layer px with the move
        body = np.full((2, len(moves)), 100)
        body[0] = 30  # the neighbour's body reappears for 30 % of the window only: no witness
        body[1, move] = 80
        return layer, body

    l9, b9 = match(4, down)
    l11, b11 = match(-4, up)
    matches = {(9, 4): PairMatch([(9, 3), (11, 4)], l9, b9, b9, 20, 100, np.array([False, True])),
               (11, 4): PairMatch([(11, 3), (9, 4)], l11, b11, b11, 20, 100, np.array([False, True]))}
    assert {cell: v[0] for cell, v in layer_offsets(matches).items()} == {(9, 4): (1, 0)}


def test_layer_pairs_find_a_layer_off_the_body_feature_it_is_drawn_on():
    """A 2x2 'eye' layer drawn over a 2x2 socket colour of a skin-coloured body; the socket sits elsewhere in every
    frame (no two frames alike), and in frame 3 the eye is 1 px off its socket: moved back (1 px up), its colours lie
    over the body colours they lie over in every other frame; the frames in place have no offset."""
    from motionmap.check.layer_pairs import PairTable, pair_offset

    skin, socket, eye = 0x806040FF, 0x201010FF, 0x4080FFFF
    body = np.zeros((1, 6, 16, 16), np.uint32)
    layer = np.zeros_like(body)
    for f in range(6):
        body[0, f, 2:14, 2:14] = skin
        y, x = 4 + f, 5 + (f % 3)
        body[0, f, y : y + 2, x : x + 2] = socket
        dy = 1 if f == 3 else 0
        layer[0, f, y + dy : y + dy + 2, x : x + 2] = eye
    table = PairTable(body, layer, np.ones((1, 6), bool))
    assert pair_offset(table, 0, 3)[0] == (-1, 0)
    assert [pair_offset(table, 0, f) for f in (0, 1, 2, 4, 5)] == [None] * 5


def test_ulpc_shirt_moved_in_a_slash_frame_is_found_by_its_colour_pairs(ulpc_root):
    """A Universal LPC long-sleeved shirt moved 1 px up and 1 px right in slash-down frame 1 (row 14), where the
    arms swing so that no neighbouring frame matches the shirt exactly: found by the body colours it lies over (the
    exact references alone miss it), on that frame only."""
    from motionmap.check.align import shift_rgba
    from motionmap.check.layers import layer_offsets, layer_shifts, pair_matches, same_pose_frames
    from motionmap.layout import LPC_LAYOUT

    body = sheet_grid(read_sheet(ulpc_root / "body" / "male" / "tanned2.png"), LPC_LAYOUT)
    shirt = sheet_grid(read_sheet(ulpc_root / "torso" / "shirts" / "longsleeve" / "male" / "brown_longsleeve.png"),
                       LPC_LAYOUT)
    poses = same_pose_frames(body)
    assert layer_shifts(body, shirt, "torso", poses) == []
    shirt.cells[14, 1] = shift_rgba(shirt.cells[14, 1], -1, 1)
    assert (14, 1) not in layer_offsets(pair_matches(body, shirt, poses))
    flags = layer_shifts(body, shirt, "torso", poses)
    assert [(fl.row, fl.frame) for fl in flags] == [(14, 1)]
    assert "body colours" in flags[0].explanation


def test_data_lpc_check_reports(capsys, tmp_path, lpc_root):
    assert main(["data", "lpc", "--layers", str(lpc_root), "--out", str(tmp_path / "d"), "--characters", "2",
                 "--check"]) == 0
    out = capsys.readouterr().out
    assert "checked 2 characters:" in out


# --- screening a dataset while it is built (data import|lpc --check / --drop-flagged) -------------------------------


def test_drop_cells_moves_the_rest_of_the_row_up(synth_sheet):
    from motionmap.check.screen import drop_cells

    layout = SYNTH_LAYOUT
    out, kept = drop_cells(synth_sheet, layout, {(1, 3), (2, 0)})
    n = layout.rows[1].frames
    assert kept[1] == [f for f in range(n) if f != 3] and kept[2][0] == 1 and kept[0] == list(range(n))
    before, after = sheet_grid(synth_sheet, layout).cells, sheet_grid(out, layout).cells
    assert np.array_equal(after[1, 3], before[1, 4]) and np.array_equal(after[1, 2], before[1, 2])
    assert not after[1, n - 1].any()  # the freed cell at the row's end is transparent
    assert np.array_equal(after[0], before[0]) and np.array_equal(after[2, 0], before[2, 1])


@pytest.mark.parametrize("mode", ["--check", "--drop-flagged"])
def test_data_import_reports_or_drops_flagged_frames(small_sheets, tmp_path, capsys, mode):
    from motionmap.datasets.dataset import SpriteDataset

    clean, bad = small_sheets
    out = tmp_path / "d"
    assert main(["data", "import", str(bad), str(clean), "--frame-size", "64x64", "--out", str(out), mode]) == 0
    printed = capsys.readouterr().out
    assert "c0000: row 1 frame 3 speck" in printed and "checked 2 characters: 1 flags in 1 of them" in printed
    ds = SpriteDataset(out)
    counts = ds.row_frames()
    frames = ds.frames()
    original = sheet_grid(read_sheet(bad), ds.layout).cells
    row1 = int(ds.row_offsets[1])
    if mode == "--check":
        assert "kept them" in printed and counts[0, 1] == counts[1, 1] == 8
        assert "dropped_frames" not in ds.characters[0].recipe
        assert np.array_equal(frames[0, row1 + 3], original[1, 3])
    else:
        assert "dropped 1 flagged frames" in printed
        assert counts[0].tolist() == [8, 7, 8, 8] and counts[1].tolist() == [8, 8, 8, 8]
        assert ds.characters[0].recipe["dropped_frames"] == [[1, 3]]
        assert np.array_equal(frames[0, row1 + 3], original[1, 4])  # the speck frame is gone, frame 4 moved up
        assert not frames[0, row1 + 7].any()


def read_sheet(path):
    from motionmap.io.images import read_image

    return read_image(path)


def test_check_and_drop_flagged_exclude_each_other(small_sheets, tmp_path, capsys):
    clean, bad = small_sheets
    with pytest.raises(SystemExit) as e:
        main(["data", "import", str(bad), str(clean), "--frame-size", "64x64", "--out", str(tmp_path / "d"),
              "--check", "--drop-flagged"])
    assert e.value.code == 2
    assert not (tmp_path / "d").exists()


def test_check_worn_finds_a_hole_the_body_covers(synth_sheet):
    """A layer's hole shows the body's skin once worn; check_worn still flags it (holes are checked on the layer)."""
    from motionmap.check.sheets import check_sheet_array, check_worn
    from motionmap.layout import LPC_LAYOUT
    from motionmap.lpc import compose_layers

    body = np.zeros((1344, 832, 4), np.uint8)
    body[:1280, :512] = synth_sheet
    top = sheet_grid(body.copy(), LPC_LAYOUT)
    top.cells[..., :3] = 255 - top.cells[..., :3]
    cells = INJECTORS["hole"](top, 5, 3, np.random.default_rng(1))
    assert cells == [(5, 3)]
    layer = top.cells.transpose(0, 2, 1, 3, 4).reshape(body.shape)
    assert not [fl for fl in check_sheet_array(compose_layers([body, layer]), LPC_LAYOUT) if fl.kind == "hole"]
    flags = check_worn(layer, body, "shirt")
    assert [(fl.row, fl.frame, fl.kind) for fl in flags] == [(5, 3, "hole")]


def test_a_one_pixel_blend_between_two_neighbouring_colours_is_anti_aliasing():
    # Pixel art shades the step between two colours with a pixel in between: that is the art. A near miss of one of
    # them, a colour off the line between them, or a step too small to shade is not such a pixel.
    import motionmap.check.detect as detect

    def blend(centre, a=(200, 40, 40), b=(40, 40, 200)):
        cell = np.zeros((3, 3, 4), np.uint8)
        cell[:, 0, :3], cell[:, 2, :3], cell[:, 1, :3] = a, b, a
        cell[1, 1, :3] = centre
        cell[..., 3] = 255
        spot = np.zeros((3, 3), bool)
        spot[1, 1] = True
        return detect._is_blend(cell, spot)

    assert blend((120, 40, 120))  # halfway
    assert blend((150, 42, 92))  # a third of the way, 2 off the line
    assert not blend((200, 52, 40))  # a near miss of one end
    assert not blend((120, 70, 120))  # 30 off the line
    assert not blend((62, 40, 62), a=(60, 40, 60), b=(70, 40, 70))  # no step to shade


def test_a_blend_pixel_is_not_flagged_where_a_near_miss_is(synth_sheet):
    import motionmap.check.detect as detect

    def colour_flags(colour, y, x):
        grid = sheet_grid(synth_sheet.copy(), SYNTH_LAYOUT)
        grid.cells[5, 3, y, x, :3] = colour
        return [(fl.row, fl.frame) for fl in detect.find_colours(grid)]

    cell = synth_sheet[64 * 5 : 64 * 6, 64 * 3 : 64 * 4]
    for y, x in zip(*np.nonzero(cell[..., 3] == 255)):  # a pixel inside the character at a step of two colours
        around = cell[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 4)
        if len(around) < 9 or (around[:, 3] < 255).any():
            continue
        a = cell[y, x, :3].astype(int)
        steps = [c for c in around[:, :3].astype(int) if np.abs(c - a).max() >= 96]
        if steps:
            break
    b = steps[0]
    assert colour_flags(tuple(np.clip(a + (0, 14, 0) * np.sign(127 - a), 0, 255)), y, x) == [(5, 3)]  # near miss
    assert colour_flags(tuple((a + b) // 2), y, x) == []  # the same pixel shading the step
