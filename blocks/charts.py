"""Chart images as Block Kit: an image block referencing the uploaded file (`slack_file: {"id": …}`),
its alt text carrying the chart's key numbers (cut to Slack's limit)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock, ImageBlock
from slack_sdk.models.blocks.basic_components import SlackFile

from blocks.limits import ALT_TEXT
from blocks.text import esc_trunc
from services.views import ChartImage


def chart_block(chart: ChartImage, block_id: str) -> ImageBlock:
    return ImageBlock(
        block_id=block_id,
        slack_file=SlackFile(id=chart.file_id),
        alt_text=chart.alt_text[:ALT_TEXT],
        title=esc_trunc(chart.title, 200),
    )


def home_charts_blocks(charts: list[ChartImage]) -> list[Block]:
    """The Home tab's dashboard section."""
    if not charts:
        return []
    out: list[Block] = [HeaderBlock(text="Dashboard", block_id="home:dashboard")]
    return out + [chart_block(c, f"home:chart:{i}") for i, c in enumerate(charts)]
