"""Build tests/data/related_boxes_tune.json: hand labels of the related boxes of the TUNE pages.

The TUNE pages are the 44 of ``../shared/data/pages/readability`` listed in
``/work/labels/readability_tune.txt`` (every third folder, see the labels' SPLIT.md). Each box
below was chosen by a person reading the page (H13, issue 13); the XPath only says where it
is, so its links are copied out exactly. Blocks looked at and left out are listed with why.
The output has the format of the held-out labels (``related_boxes_test.json``).

Run: python tools/label_related_tune.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin

from lxml import html

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "readability"
OUT = ROOT / "tests" / "data" / "related_boxes_tune.json"
TUNE = [
    "001", "004-metadata-space-separated-properties", "aktualne", "article-author-tag",
    "base-url-base-element-relative", "blogger", "buzzfeed-1", "cnet",
    "comment-inside-script-parsing", "dev418", "ehow-1", "engadget", "gitlab-blog", "guardian-1",
    "hidden-nodes", "ietf-1", "keep-images", "lazy-image-1", "lemonde-1", "lifehacker-working",
    "mathjax", "medium-2", "metadata-content-missing", "mozilla-2", "nytimes-1", "nytimes-4",
    "parsely-metadata", "quanta-1", "remove-extra-paragraphs", "replace-brs", "rtl-1", "rtl-4",
    "seattletimes-1", "spiceworks", "table-style-attributes", "title-and-h1-discrepancy",
    "toc-missing", "v8-blog", "visibility-hidden", "webmd-1", "wikipedia", "wikipedia-4",
    "yahoo-2", "youth",
]  # fmt: skip
FAKEHOST = "http://fakehost/test/page.html"

# page -> boxes (xp: where; item: one entry; title/source/age: XPaths inside an item;
# drop: hrefs matching this are not entries) and excluded blocks (looked at, left out).
D: dict[str, dict] = {
    "aktualne": {
        "boxes": [
            {
                "xp": '//div[contains(@class,"related-wrap")]',
                "heading": "Související",
                "how_seen": "boxes headed 'Související' (Czech: related) inside and after the body",
            },
        ],
    },
    "article-author-tag": {
        "excluded": [
            {
                "xp": '//h4[contains(.,"Most Recent")]/../..',
                "heading": "Most Recent Stories",
                "reason": "site-wide latest stories in the menu, not related to this article",
            }
        ]
    },
    "blogger": {
        "excluded": [
            {
                "xp": '//div[contains(@class,"PopularPosts")]',
                "heading": "Popular Posts",
                "reason": "blog-wide popular posts",
            }
        ]
    },
    "buzzfeed-1": {
        "boxes": [
            {
                "xp": '(//section[contains(@class,"related-links")])[1]',
                "heading": None,
                "drop": r"^javascript",
                "how_seen": "class related-links, a list of article links after the body",
            },
        ],
    },
    "cnet": {
        "excluded": [
            {
                "xp": '//div[contains(@class,"trc_related_container")]',
                "heading": "You may also like",
                "reason": "Taboola: every entry is 'Sponsored by'",
            }
        ]
    },
    "ehow-1": {
        "boxes": [
            {
                "xp": '//div[contains(@class,"RelatedContent")]',
                "heading": "Other People Are Reading",
                "how_seen": "heading and class RelatedContent",
            },
            {
                "xp": '//aside[contains(@class,"related")]',
                "heading": "More Like This",
                "how_seen": "heading, aside.related",
            },
            {
                "xp": '//h2[.="You May Like"]/..',
                "heading": "You May Like",
                "how_seen": "heading over a list of article links in the right rail",
            },
        ],
        "excluded": [
            {"xp": '//h3[contains(.,"Related Ads")]/..', "heading": "Related Ads", "reason": "ads"},
            {
                "xp": '//section[contains(@class,"slideshow")]',
                "heading": None,
                "reason": "one promoted slideshow, no box heading",
            },
        ],
    },
    "engadget": {
        "boxes": [
            {
                "xp": '//section[contains(@class,"context_nav__related")]',
                "heading": None,
                "how_seen": "class i-context_nav__related: three story links after the article",
            },
        ],
    },
    "gitlab-blog": {
        "boxes": [
            {
                "xp": '//h2[contains(.,"More to explore")]/../..',
                "heading": "More to explore",
                "drop": r"^/blog/$",
                "retitle": {
                    "https://about.gitlab.com/blog/2023/08/15/navigation-research-blog-post/": "How we overhauled GitLab navigation",
                    "https://about.gitlab.com/blog/2023/07/05/beautifying-of-our-ui/": "Beautifying our UI: Giving GitLab build features a fresh look",
                    "https://about.gitlab.com/blog/2023/06/08/best-practices-leading-orgs-to-release-software-faster/": "4 best practices leading orgs to release software faster",
                },
                "how_seen": "heading 'More to explore' over three post cards after the body",
            },
        ],
    },
    "guardian-1": {
        "boxes": [
            {
                "xp": '//aside[contains(@class,"more-on-this-story")]',
                "heading": "more on this story",
                "how_seen": "heading 'more on this story', aside.related after the body",
            },
        ],
        "excluded": [
            {
                "xp": '//section[contains(@class,"js-most-popular-footer")]',
                "heading": "Most popular",
                "reason": "site-wide most read",
            }
        ],
    },
    "lazy-image-1": {
        "boxes": [
            {
                "xp": '//h2[contains(.,"More From Medium")]/ancestor::div[5]',
                "heading": "More From Medium",
                "item": ".//h4/ancestor::div[3]",
                "a": ".//a[@href][.//h3 or .//h2 or .//h4]",
                "source": '(.//a[contains(@href,"?source=post_recirc") and not(contains(@href,"/@"))'
                ' and not(.//*) and not(contains(@href,"-"))])[1]',
                "age": '(.//a[contains(@href,"?source=post_recirc")][not(.//*)])[last()]',
                "how_seen": "heading 'More From Medium', sub-headings 'More on Nodejs', 'Related reads'",
            },
        ],
    },
    "lemonde-1": {
        "boxes": [
            {
                "xp": '//aside[contains(@class,"meme_sujet")]',
                "heading": "Loi sur le renseignement",
                "how_seen": "aside.meme_sujet (French 'même sujet', same subject): six stories on "
                "the same law beside the body",
            },
            {
                "xp": '//p[starts-with(normalize-space(.),"Lire aussi")]',
                "heading": "Lire aussi :",
                "how_seen": "an inline 'Lire aussi : <link>' line inside the body",
            },
        ],
        "notes": "both boxes missed in the first pass (no English word in them); added after "
        "reading the page: the aside when the finder's extra links showed it, the inline "
        "'Lire aussi' line after the held-out labels' rule on inline lines",
    },
    "lifehacker-working": {
        "excluded": [
            {
                "xp": '//ul[contains(@class,"related-blog-list")]',
                "heading": "Related blogs",
                "reason": "links to sister blogs' home pages, not stories",
            },
            {
                "xp": '//section[contains(@class,"leftrailmodule--trending")]',
                "heading": "Trending",
                "reason": "network-wide trending",
            },
            {
                "xp": '//section[contains(@class,"leftrailmodule--popular")]',
                "heading": "Popular",
                "reason": "site-wide popular",
            },
        ]
    },
    "mozilla-2": {
        "excluded": [
            {
                "xp": '//section[contains(@class,"more-features")]',
                "heading": None,
                "reason": "product feature links",
            }
        ]
    },
    "nytimes-1": {
        "boxes": [
            {
                "xp": '//section[contains(@class,"related-combined-coverage")]',
                "heading": "Related Coverage",
                "item": ".//li",
                "title": './/*[@class="title" or self::h2][1]/text()[normalize-space()][1]',
                "age": ".//time",
                "how_seen": "heading 'Related Coverage', repeated in the margin",
            },
        ],
        "excluded": [
            {
                "xp": '//aside[contains(@class,"trending-module")]',
                "heading": "Trending",
                "reason": "site-wide trending",
            }
        ],
    },
    "seattletimes-1": {
        "boxes": [
            {
                "xp": '//div[contains(@class,"multi-related-article-links")]',
                "heading": "Related",
                "drop": r"/business/amazon/$",
                "how_seen": "heading 'Related' over a list inside the body",
            },
        ],
        "excluded": [
            {
                "xp": '//div[contains(@class,"most-read-wrapper")]',
                "heading": "Most Read Business Stories",
                "reason": "section-wide most read",
            }
        ],
    },
    "spiceworks": {
        "boxes": [
            {
                "xp": '//div[contains(@class,"new_recommended_reads")]',
                "heading": "Recommended Reads",
                "drop": r"/(?:marketing-strategy|artificial-intelligence|ai-in-marketing|customer-data)/$",
                "how_seen": "heading 'Recommended Reads'; the category links above each title left out",
            },
        ],
    },
    "toc-missing": {
        "boxes": [
            {
                "xp": '//ul[contains(@class,"similar_posts")]',
                "heading": "Similar articles",
                "item": "./li",
                "a": './/a[@href][not(contains(@href,"/tag/"))]',
                "title": './/a[not(contains(@href,"/tag/"))]//*[self::h3 or self::h4 or self::span '
                "or self::strong][1]",
                "how_seen": "heading 'Similar articles', ul.similar_posts after the body",
            },
        ],
    },
    "webmd-1": {
        "boxes": [
            {
                "xp": '//div[contains(@class,"related_reading")]',
                "heading": None,
                "how_seen": "class related_reading, a list of article links",
            },
            {
                "xp": '//div[contains(@class,"prem_ed_border")]',
                "heading": "More From WebMD:",
                "borderline": "site-wide slideshow promos; counted, as the held-out labels count"
                " 'More from <the whole site>' (their rule 2), after a first pass left it out",
                "how_seen": "heading 'More From WebMD:' over a row of links",
            },
        ],
        "excluded": [
            {
                "xp": '//div[contains(@class,"lln-rltdto")]',
                "heading": "Related to Allergies",
                "reason": "topic hub pages (default.htm, directory), not stories",
            },
        ],
    },
    "wikipedia": {
        "boxes": [
            {
                "xp": '//h2[starts-with(normalize-space(.),"See also")]/following-sibling::ul[1]',
                "heading": "See also",
                "how_seen": "section 'See also' (the portal box beside it left out)",
            },
        ],
    },
    "wikipedia-4": {
        "boxes": [
            {
                "xp": '//h2[starts-with(normalize-space(.),"See also")]/following-sibling::ul[not(@class)][1]',
                "heading": "See also",
                "how_seen": "section 'See also' (the portal box beside it left out)",
            },
        ],
    },
    "yahoo-2": {
        "boxes": [
            {
                "xp": '//h2[contains(.,"What to Read Next")]/..',
                "heading": "What to Read Next",
                "item": ".//li",
                "drop": r"beap\.gemini|help\.yahoo|info\.yahoo",
                "source": ".//h3/following-sibling::div[1]",
                "how_seen": "heading 'What to Read Next' over a stream of stories with their sources",
            },
        ],
    },
}


def norm(s: str | None) -> str:
    return " ".join((s or "").split())


def base_of(doc: html.HtmlElement) -> tuple[str, str]:
    canon = doc.xpath('//link[translate(@rel,"CANONICAL","canonical")="canonical"]/@href')
    og = doc.xpath('//meta[@property="og:url" or @name="og:url"]/@content')
    base = doc.xpath("//base/@href")
    if canon and canon[0].strip():
        url, how = canon[0].strip(), "link rel=canonical"
    elif og and og[0].strip():
        url, how = og[0].strip(), "og:url"
    else:
        url, how = FAKEHOST, "none on page: the readability tests' default"
    if base and base[0].strip():
        return urljoin(url, base[0].strip()), f"<base href> resolved against {how}"
    return url, how


def first_text(el: html.HtmlElement, xp: str | None) -> str | None:
    if not xp:
        return None
    found = el.xpath(xp)
    if not found:
        return None
    node = found[0]
    return norm(node if isinstance(node, str) else node.text_content()) or None


def links_of(doc: html.HtmlElement, base: str, box: dict) -> list[dict]:
    out: dict[str, dict] = {}
    blocks = doc.xpath(box["xp"])
    if not blocks:
        raise SystemExit(f"no block for {box['xp']}")
    for block in blocks:
        items = block.xpath(box["item"]) if box.get("item") else [block]
        for item in items:
            for a in item.xpath(box.get("a", ".//a[@href]")):
                href = a.get("href").strip()
                if not href or href.startswith(("#", "javascript:", "mailto:")):
                    continue
                if box.get("drop") and re.search(box["drop"], href):
                    continue
                url = urljoin(base, href).split("#")[0]
                title = (
                    (first_text(item, box.get("title")) if box.get("item") else None)
                    or norm(a.text_content())
                    or norm(a.get("title"))
                    or norm(" ".join(a.xpath(".//img/@alt")))
                )
                rec = out.get(url)
                if rec is not None:
                    if len(title) > len(rec["title"] or ""):
                        rec["title"] = title
                    continue
                item_or_none = item if box.get("item") else None
                out[url] = {
                    "href": href,
                    "url": url,
                    "title": title or None,
                    "source": first_text(item_or_none, box.get("source"))
                    if item_or_none is not None
                    else None,
                    "age": first_text(item_or_none, box.get("age"))
                    if item_or_none is not None
                    else None,
                }
    for url, title in box.get("retitle", {}).items():
        out[url]["title"] = title
    return list(out.values())


def main() -> None:
    result = []
    for name in TUNE:
        doc = html.fromstring((PAGES / name / "source.html").read_bytes())
        base, how = base_of(doc)
        d = D.get(name, {})
        boxes = [
            {
                "heading": b.get("heading"),
                "how_seen": b["how_seen"],
                **({"borderline": b["borderline"]} if b.get("borderline") else {}),
                "links": links_of(doc, base, b),
            }
            for b in d.get("boxes", [])
        ]
        excluded = [
            {
                "heading": e.get("heading"),
                "reason": e["reason"],
                "n_links": len({h for blk in doc.xpath(e["xp"]) for h in blk.xpath(".//a/@href")}),
            }
            for e in d.get("excluded", [])
        ]
        result.append(
            {
                "page": name,
                "base_url": base,
                "base_url_from": how,
                "has_box": bool(boxes),
                "boxes": boxes,
                "excluded_blocks": excluded,
                "notes": d.get("notes", ""),
            }
        )
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    n_links = sum(len(b["links"]) for r in result for b in r["boxes"])
    print(f"pages {len(result)} with a box {sum(r['has_box'] for r in result)} links {n_links}")


if __name__ == "__main__":
    main()
