"""Sentence templates for the synthetic sample: titles, descriptions and bullets of a listing, and the
questions, answers and review snippets of a product Q&A. Placeholders: {brand}, {noun} (the listing's
product noun), {short} / {a_short} (what one item is called), {use}, {v} (an attribute value),
{key} / {Key} / {KEY} (its name), {x} (the value a yes/no question asks about), {feature} and {does}."""

from __future__ import annotations

import re

_SMALL_WORDS = {"and", "with", "of", "or", "for", "to", "in", "on", "at", "a", "an", "the"}

PLAIN_OPENERS = ("Built for {use}.", "A sensible choice for {use}.", "Made with {use} in mind.")
OPENERS = (
    "The {brand} {noun} is made for {use}.",
    "Designed for {use}, this {short} from {brand} keeps things simple.",
    "Meet the {noun} from {brand}, {a_short} built for {use}.",
    "{brand} made this {short} with {use} in mind.",
    "Looking for {a_short} for {use}? The {noun} is a dependable pick.",
)
CLOSERS = (
    "Ships in recyclable packaging.",
    "Backed by a one-year limited warranty.",
    "Our support team answers questions within one business day.",
    "Returns are accepted within 30 days of delivery.",
    "Check the specifications before ordering.",
)
ATTRIBUTE_SENTENCES: dict[str, tuple[str, ...]] = {
    "Material": ("Made from {v}.", "The main material is {v}.", "Built with {v} for everyday use."),
    "Color": ("Shown here in {v}.", "This listing is the {v} colorway.", "Color: {v}."),
    "Size": ("This listing is for size {v}.", "Size: {v}.", "You are buying the {v} size."),
}
GENERIC_SENTENCES = ("{Key}: {v}.", "The {key} is {v}.", "Listed {key}: {v}.")
ATTRIBUTE_BULLETS = ("{KEY}: {v}", "{Key} - {v}", "{Key}: {v}")
FEATURE_BULLETS = ("{HEAD}: {does}.", "{Feature} that {does}.", "{Feature} {does}.")

# questions, answers and review snippets about one attribute; {v} is the value, {x} the value asked about
DESCRIPTIVE_QUESTIONS: dict[str, tuple[str, ...]] = {
    "Material": ("What is this {short} made of?", "What material is the {short}?"),
    "Color": ("What color is this {short} exactly?", "Which color is this one?"),
    "Size": ("What size is this {short}?", "Which size is this listing for?"),
}
GENERIC_DESCRIPTIVE = (
    "What is the {key} of this {short}?",
    "Can anyone tell me the {key}?",
    "Which {key} does this {short} have?",
)
YESNO_QUESTIONS: dict[str, tuple[str, ...]] = {
    "Material": ("Is this {short} made of {x}?", "Is the {short} {x}?"),
    "Color": ("Does this {short} come in {x}?", "Is the color {x}?"),
    "Size": ("Is this the {x} size?", "Does this {short} come in {x}?"),
}
GENERIC_YESNO = ("Is the {key} {x}?", "Does this {short} have {key} {x}?")
ANSWERS = ("It is {v}.", "Mine is {v}.", "{V}, going by the label on mine.", "The one I got is {v}.")
YES_ANSWERS = ("Yes, it is {v}.", "Yes. Mine is {v}.", "Yes, {v}.")
NO_ANSWERS = ("No, it is {v}.", "No, mine is {v}, not {x}.", "No. It is {v}.")
SUPPORT_SNIPPETS: dict[str, tuple[str, ...]] = {
    "Material": ("You can tell it is {v} as soon as you pick it up.", "The {v} feels sturdy and well finished."),
    "Color": ("The {v} looks exactly like the photos.", "Ordered the {v} one and it matches my other stuff."),
    "Size": ("Got the {v} and it fits perfectly.", "I went with {v} and it was the right call."),
}
GENERIC_SUPPORT = (
    "The {key} is {v}, just as described.",
    "Mine has {key} {v}, which is what I wanted.",
    "Checked the {key} on arrival: {v}.",
)
REVIEW_SNIPPETS = (
    "Arrived two days early and well packed.",
    "Good value for the money.",
    "Still going strong after a month of use.",
    "Exactly what I expected, nothing more.",
    "The box was dented but the item inside was fine.",
    "Would buy again.",
    "Took a star off because the instructions were vague.",
    "My partner liked it so much we ordered a second one.",
    "Not perfect, but better than the one it replaced.",
    "Seller answered my email within a day.",
)
FEATURE_SNIPPETS = (
    "I bought it for {feature}, which {does}.",
    "Love that {the_feature} {does}.",
    "Honestly, {the_feature} {does}, as promised.",
)
USE_SNIPPETS = ("Bought it for {use} and it does the job.", "Works well for {use}.")
GENERIC_QUESTIONS = (  # (question, type, answer, answer type, snippet that answers it)
    ("How long did shipping take?", "descriptive", "About {days} days for me.", "NA",
     "Shipping took {days} days and it arrived well packed."),
    ("Would this make a good gift?", "yesno", "Yes, it comes in a nice box.", "Y",
     "Gave it as a gift and the box looked great."),
    ("Is this sold by {brand} directly?", "yesno", "Yes, it ships from {brand}.", "Y",
     "It came straight from {brand} with a thank-you note."),
    ("Does it come with a warranty?", "yesno", "Yes, {brand} covers it for one year.", "Y",
     "Had an issue and {brand} replaced it under warranty within a week."),
)


def title_case(value: str) -> str:
    """'memory foam' -> 'Memory Foam', leaving 'USB-C', '3.5 mm' and small joining words alone."""
    words = []
    for i, word in enumerate(value.split(" ")):
        parts = [
            p[:1].upper() + p[1:] if p.isalpha() and p.islower() and (i == 0 or (len(p) > 2 and p not in _SMALL_WORDS)) else p
            for p in word.split("-")
        ]
        words.append("-".join(parts))
    return " ".join(words)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def heading(feature: str) -> str:
    """'a removable zip-off cover' -> 'REMOVABLE ZIP-OFF COVER' (a bullet heading)."""
    return re.sub(r"^(a|an|the)\s+", "", feature).upper()
