"""Ads: how viewers reacted to each ad, second by second, from their reaction videos; ads compared.

Reaction videos (a .zip with one folder per ad, and optionally a manifest.csv of offsets and
segments; or the videos of one ad) are kept as a study folder under analyses/
(`studies.new_study`) and analysed by a background job (`jobs.start_analysis`): it goes on when
the browser closes, and the list below the upload shows its progress, the time left and Cancel.
A finished study opens from the list (those `analyze VIDEOS --out analyses/NAME` wrote too):
the ads compared (overlaid curves, the comparison table), then per ad its timeline with the key
moments, each reaction video's frame at a chosen second with the faces drawn and Grad-CAM on any
face, the ad itself at that second when given, and each viewer's strip. Viewers can be split by
a manifest column. The tables and report.html download at the end.
"""

from functools import partial
from pathlib import Path

import streamlit as st

from emotion_core import jobs, registry
from emotion_core.adreport import build_report
from emotion_core.adreport.charts import LABELS, compare_chart, timeline_chart, viewer_multiples
from emotion_core.adreport.viewers import ALL
from emotion_core.analysis import analyses_dir, upload_digest
from emotion_core.analysis.uploads import count_images
from emotion_core.drawing import place_on_image
from emotion_core.studies import (Study, finished_studies, new_study, readable_compare, readable_moments,
                                  save_ad_video, split_columns, viewer_frames)
from emotion_core.video import FRAMES_CSV, SECONDS_CSV, VIDEO_FPS, VIDEO_SUFFIXES, read_table
from emotion_core.wording import plural
from ui.common import face_panel_ui, load_explainer, load_predictor, model_ui, wide_and_narrow

VIDEO_TYPES = sorted(suffix.lstrip(".") for suffix in VIDEO_SUFFIXES)
REFRESH_SECONDS = 2  # how often the list of analyses asks the jobs how far they got
SHOWN_FINISHED = 3  # finished, failed or cancelled analyses listed under the running ones
STUDY_KEY = "ads.study"  # session state: the study folder shown (the select box's value)
RUNNING_KEY = "ads.running"  # session state: the ids of the analyses running at the last look
STARTED_KEY = "ads.started"  # session state: the upload digest of the last analysis started here
COMPARE = "Compare ads"
NO_SPLIT = "everyone"
FRAME_WIDTH = 300  # each reaction video's frame: two side by side on a laptop, one a row on a phone
NARROW_CHART = 330  # pixels of a chart's time axis on a phone (the page's narrow variant)


# --- Starting an analysis -----------------------------------------------------------------------------


def new_analysis_ui(expanded: bool) -> None:
    with st.expander("Analyse reaction videos", expanded=expanded, icon=":material/upload:"):
        run = model_ui()
        limit = st.get_option("server.maxUploadSize")
        uploads = st.file_uploader(
            "Reaction videos, or one .zip with a folder of them per ad", type=[*VIDEO_TYPES, "zip"],
            accept_multiple_files=True, key="ads.upload",
            help=f"Up to {limit} MB a file (a few minutes of phone video each); the browser refuses a larger one. "
                 "A manifest.csv in the .zip (columns file, offset in seconds before the ad starts in that video, "
                 "and any others such as market or age band) aligns the videos and splits the viewers. For larger "
                 f"studies run `python -m emotion_core analyze VIDEOS --out {analyses_dir()}/NAME`: it appears in "
                 "the list below when done.")
        # getvalue() hands over the bytes Streamlit holds (no copy); studies writes them to disk as they are.
        files = [(upload.name, upload.getvalue()) for upload in uploads or []]
        if not files:
            st.caption(f"Each video is read at {VIDEO_FPS:g} frames a second; each face followed through it is one "
                       "viewer. The analysis runs in the background: you may close this tab.")
            return
        try:
            count = count_images(files, VIDEO_SUFFIXES)
        except ValueError as error:
            st.error(str(error))
            return
        digest = upload_digest(files) + run.name
        if st.button(f"Analyse {plural(count, 'reaction video')} in the background", type="primary",
                     icon=":material/play_arrow:", disabled=not count):
            if st.session_state.get(STARTED_KEY) == digest:  # a second press of the same upload
                st.info("This upload is already being analysed: see the list below.")
                return
            start_ui(files, run.name, digest)
        if not count:
            st.error(f"The upload holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))}).")


def start_ui(files, run_name: str, digest: str) -> None:
    try:
        source = new_study(files, analyses_dir())
        job = jobs.start_analysis(source, source.parents[1], run_name)
    except ValueError as error:  # a broken zip, a run gone since the page was drawn: one line each
        st.error(str(error))
        return
    st.session_state[STARTED_KEY] = digest
    where = "started" if job["status"] == "running" else f"queued (position {job['queue_position']})"
    st.success(f"Analysis {job['id']} {where}: {source.parents[1].name}. It keeps running if you close this tab.")


# --- The analyses running and just finished ----------------------------------------------------------------


@st.fragment(run_every=REFRESH_SECONDS)
def jobs_ui() -> None:
    found = jobs.list_jobs(kind="analyze")  # also starts queued analyses when a slot is free
    active = [job for job in found if job["status"] in jobs.ACTIVE]
    running = {job["id"] for job in active}
    if st.session_state.get(RUNNING_KEY, running) - running:  # one finished: the list of studies changes
        st.session_state[RUNNING_KEY] = running
        st.rerun(scope="app")
    st.session_state[RUNNING_KEY] = running
    for job in active + [job for job in found if job["status"] not in jobs.ACTIVE][:SHOWN_FINISHED]:
        job_ui(job)


def job_ui(job: dict) -> None:
    status, out = job["status"], Path(job["out"])
    with st.container(border=True):
        st.markdown(f"**Analysis {job['id']}** · {status} · `{out.name}` · model `{job['model']}`")
        if status == "running":
            left = (f"about {jobs.format_duration(job['eta_seconds'])} left" if job["eta_seconds"] is not None
                    else "time left known soon")
            st.progress(job["progress"] or 0.0, text=f"{job['progress_text'].capitalize()} · "
                        f"{jobs.format_duration(job['elapsed_seconds'])} elapsed · {left}")
        elif status == "queued":
            st.caption(f"Waiting: position {job['queue_position']} among the analyses.")
        elif status == "failed":
            st.error(job["reason"])
        elif status == "succeeded":
            st.caption(f"Done in {jobs.format_duration(job['elapsed_seconds'])}." +
                       (f" {job['reason'].capitalize()}." if job["reason"] else ""))
        if status in jobs.ACTIVE and st.button("Cancel", key=f"ads.cancel.{job['id']}", icon=":material/stop:",
                                               help="Stops it now; the videos finished so far stay."):
            try:
                jobs.cancel_job(job["id"])
            except jobs.JobError as error:  # it finished in the meantime
                st.warning(str(error))
            st.rerun()
        if status in ("failed", "cancelled") and st.button(
                "Continue", key=f"ads.continue.{job['id']}", icon=":material/play_arrow:",
                help="A new analysis into the same study: the videos finished before are not read again."):
            values = job["analysis"]
            try:  # keyed by this job: pressing Continue twice gives one analysis, not two
                jobs.start_analysis(values["source"], values["out"], values["model"], fps=values["fps"],
                                    faces=values["faces"], detector=values["detector"],
                                    quantize=values.get("quantize", "int8"), request_id=f"continue-{job['id']}")
            except ValueError as error:  # the upload or the model is gone, or it is being continued
                st.warning(str(error))
            else:
                st.rerun()  # the whole page: a full run may be the one that drew this button
        if status == "succeeded" and st.button("Open", key=f"ads.open.{job['id']}", icon=":material/open_in_new:"):
            st.session_state[STUDY_KEY] = str(out)
            st.rerun(scope="app")


# --- A finished study ------------------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner="Reading the analysis and drawing 2,000 resamples of the viewers…")
def load_report(folder: str, finished: str, by: str | None):
    """The study's ad report, split by the manifest column `by`; `finished` keys a study analysed again."""
    return build_report(Path(folder), by=by)


@st.cache_data(max_entries=4, show_spinner=False)
def load_frames(folder: str, finished: str):
    return read_table(Path(folder) / FRAMES_CSV)


@st.cache_data(max_entries=16, show_spinner="Reading the reaction videos at that second…")
def frames_at(folder: str, finished: str, by: str | None, ad: str, segment: str, second: int):
    return viewer_frames(load_report(folder, finished, by), load_frames(folder, finished), ad, second, segment)


def study_ui(found: list[Study]) -> Study | None:
    if not found:
        st.info(f"No finished analysis of reaction videos in `{analyses_dir()}` yet: upload some above.")
        return None
    studies = {str(study.path): study for study in found}
    if st.session_state.get(STUDY_KEY) not in studies:
        st.session_state[STUDY_KEY] = next(iter(studies))  # the newest
    chosen = st.selectbox("Study", list(studies), key=STUDY_KEY, format_func=lambda path: studies[path].label)
    return studies[chosen]


def report_ui(study: Study) -> None:
    folder, finished = str(study.path), str(study.manifest.get("finished", ""))
    try:
        columns = split_columns(load_report(folder, finished, None))
        by = None
        if columns:
            chosen = st.selectbox("Split the viewers by", [NO_SPLIT, *columns],
                                  help="A column of the study's manifest.csv: each group's curves and table apart.")
            by = None if chosen == NO_SPLIT else chosen
        report = load_report(folder, finished, by)
    except (ValueError, OSError) as error:  # no viewer at all, a bad manifest: one line
        st.error(str(error).splitlines()[0])
        return
    segments = list(dict.fromkeys(report.compare["segment"]))
    segment = ALL if by is None else st.selectbox(by.capitalize(), segments)
    st.subheader(report.verdicts.get(segment, ""))
    ads = list(report.compare[report.compare["segment"] == segment]["ad"])
    shown = st.segmented_control("Show", [COMPARE, *ads], default=COMPARE if len(ads) > 1 else ads[0],
                                 key=f"ads.show.{folder}.{by}.{segment}")
    if shown == COMPARE or shown is None:
        compare_ui(report, ads, segment)
    else:
        ad_ui(study, report, by, shown, segment)
    downloads_ui(study, report)


def compare_ui(report, ads: list[str], segment: str) -> None:
    metrics = ["net_valence", "expressiveness"] + (["attention"] if report.seconds["attention"].notna().any() else []) \
        + [column for column in report.seconds.columns if column.startswith("share_")]
    metric = st.selectbox("Curve", metrics, format_func=lambda name: LABELS.get(name, name.replace("_", " ")))
    chart_ui(partial(compare_chart, report.seconds, ads, metric, segment), "compare")
    st.table(readable_compare(report, segment).set_index("metric"))  # small, and read in full on a phone
    st.caption("Each figure is averaged over viewers, with its 95% interval in brackets (bootstrap over viewers); "
               "▲ marks a lead over another ad whose own interval leaves out 0.")


def ad_ui(study: Study, report, by: str | None, ad: str, segment: str) -> None:
    chart_ui(partial(timeline_chart, report.seconds, report.moments, ad, segment), "timeline")
    moments = readable_moments(report, ad, segment)
    st.dataframe(moments, hide_index=True)
    duration = int(report.compare[(report.compare["ad"] == ad) & (report.compare["segment"] == segment)]["duration"].iloc[0])
    marked = [int(when.split()[0]) for when, kept in zip(moments["when"], moments["marked"]) if kept and when]
    second = 0 if duration < 2 else st.slider(  # a slider needs two values to slide between
        "Second of the ad", 0, duration - 1, marked[0] if marked else 0, key=f"ads.second.{study.path}.{ad}.{segment}",
        help="Each reaction video at that second of the ad, and the ad itself when you give it.")
    ad_video_ui(study, ad, second)
    viewers_ui(study, report, by, ad, segment, second)
    chart_ui(lambda width=None: viewer_multiples(report.viewers, ad, segment, **(
        {"width": width, "columns": 2} if width else {})), "viewers")


def ad_video_ui(study: Study, ad: str, second: int) -> None:
    video = study.ad_video(ad)
    if video is not None:
        st.video(str(video), start_time=second)
        return
    given = st.file_uploader(f"The ad itself (optional): {ad} then plays at the chosen second", type=VIDEO_TYPES,
                             key=f"ads.ad_video.{study.path}.{ad}")
    if given is not None:
        try:
            save_ad_video(study, ad, given.name, given.getvalue())
        except ValueError as error:  # not a video, or no room for it on the disk
            st.error(str(error))
            return
        st.rerun()


def viewers_ui(study: Study, report, by: str | None, ad: str, segment: str, second: int) -> None:
    folder, finished = str(study.path), str(study.manifest.get("finished", ""))
    shown = frames_at(folder, finished, by, ad, segment, second)
    if not shown:
        st.caption("No reaction video can be shown at this second: the videos are over, or no longer where the "
                   f"analysis read them ({report.facts.get('source') or 'unknown'}).")
        return
    st.image([frame.annotated() for frame in shown], width=FRAME_WIDTH,
             caption=[f"{frame.file} at {frame.time:.1f} s" for frame in shown])
    faces = [(index, number) for index, frame in enumerate(shown) for number in range(len(frame.faces))]
    picked = st.selectbox("Explain a face (Grad-CAM)", [None, *faces], key=f"ads.face.{folder}.{ad}.{second}",
                          format_func=lambda face: "none" if face is None else _face_name(shown, *face))
    if picked is not None:
        explanation_ui(shown[picked[0]], picked[1], report.facts.get("model"))


def _face_name(shown, index: int, number: int) -> str:
    frame = shown[index]
    face = frame.faces[number]
    return f"{frame.file}, viewer {frame.viewers[number]}: {face.label} {face.confidence:.0%}"


def explanation_ui(frame, number: int, model: str | None) -> None:
    runs = {run.name: run for run in registry.list_runs() if run.has_weights and not run.problem}
    if model not in runs:
        st.caption(f"Its model, {model or 'unknown'}, is not in this registry: no Grad-CAM.")
        return
    run, face = runs[model], frame.faces[number]
    model_input = frame.model_input(number, load_predictor(run.name))
    (heatmap,) = load_explainer(run.name).heatmaps(model_input[None], [run.classes.index(face.label)], "gradcam")
    st.image(place_on_image(frame.rgb, heatmap, face.box), width=FRAME_WIDTH * 2,
             caption=f"Grad-CAM: where {run.name} looked to read {face.label}")
    face_panel_ui(model_input, heatmap, f"Grad-CAM: {face.label}",
                  f"**{frame.file}** at {frame.time:.1f} s, viewer {frame.viewers[number]}: **{face.label}** · "
                  f"{face.confidence:.0%} · {face.valence}", face.probabilities)


def chart_ui(make, key: str) -> None:
    """A chart at its full width on a laptop, and narrower on a phone (both drawn; CSS shows one)."""
    wide, narrow = wide_and_narrow(f"ads-{key}")
    wide.altair_chart(make())
    narrow.altair_chart(make(width=NARROW_CHART))


def downloads_ui(study: Study, report) -> None:
    st.subheader("Downloads")
    tables = {"ad_timeline.csv": report.seconds, "ad_compare.csv": report.compare, "ad_moments.csv": report.moments,
              "ad_viewers.csv": report.viewers, "ad_differences.csv": report.differences}
    columns = st.columns(3)
    for index, (name, table) in enumerate(tables.items()):
        columns[index % 3].download_button(name, partial(table.to_csv, index=False), name, "text/csv",
                                           icon=":material/download:", key=f"ads.download.{name}")
    for index, name in enumerate((SECONDS_CSV, FRAMES_CSV)):
        path = study.path / name
        columns[(len(tables) + index) % 3].download_button(name, partial(path.read_bytes), name, "text/csv",
                                                           icon=":material/download:", key=f"ads.download.{name}")
    html = study.report_html
    if html is not None:
        st.download_button("The report to share (report.html)", html.read_bytes(), f"{study.path.name}-report.html",
                           "text/html", icon=":material/description:", type="primary", key="ads.download.html")
        st.caption("One file that opens offline in any browser, charts included: mail it on.")
    else:
        st.caption("No report.html in this study: `python -m emotion_core report "
                   f"{study.path}` writes one.")


st.title("Ads")
st.caption("How viewers reacted to each ad, second by second, from videos of their faces; the ads compared.")
found = finished_studies(analyses_dir())
upload_area = st.container()  # drawn last: without a model it stops the script, and the studies must still show
jobs_ui()
study = study_ui(found)
if study is not None:
    report_ui(study)
with upload_area:
    new_analysis_ui(expanded=not found)
