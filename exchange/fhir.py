"""A scale as a FHIR R4 Questionnaire, and a stored review as a QuestionnaireResponse.

Plain dicts in FHIR JSON. The Questionnaire's canonical URL is `urn:ebp-fidelity:scale:<id>`
with the scale version as `version`; each subscale is a `group` item holding one `choice`
item per scale item (linkId = item id, prefix = the published id), whose answerOptions are
Codings (code = the rating, display = the anchor text) carrying the R4 `ordinalValue`
extension (valueDecimal = the rating) that scoring tools read. The item's definition is a
nested `display` item marked as help (SDC itemControl "help").

`validate_resource` checks a resource with `fhir.resources` (a development dependency). That
package offers FHIR R5 (its default), R4B and STU3 models, but not R4: R4B is the R4-compatible
one (Questionnaire and QuestionnaireResponse did not change between R4 and R4B), so it is used,
plus the code checks the models leave out (status codes, item types, unique linkIds, answers
that are options of their question).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from scales import Scale
from scales.messages import pydantic_message

URL_PREFIX = "urn:ebp-fidelity:scale:"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
REVIEW_IDENTIFIER_SYSTEM = "urn:ebp-fidelity:review"

QUESTIONNAIRE_STATUS = frozenset({"draft", "active", "retired", "unknown"})
RESPONSE_STATUS = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
R4_ITEM_TYPES = frozenset(
    {"group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string", "text",
     "url", "choice", "open-choice", "attachment", "reference", "quantity"}
)  # fmt: skip


def questionnaire_url(scale_id: str) -> str:
    return f"{URL_PREFIX}{scale_id}"


def rating_system(scale: Scale) -> str:
    """The code system of the scale's ratings (the codes are the rating numbers)."""
    return f"{questionnaire_url(scale.id)}:rating"


def scale_to_questionnaire(scale: Scale) -> dict[str, Any]:
    """The scale as a FHIR R4 Questionnaire resource (JSON as a dict)."""
    items_by_id = {item.id: item for item in scale.items}
    groups = []
    for sub in scale.subscales:
        children = []
        for item_id in sub.items:
            item = items_by_id[item_id]
            question: dict[str, Any] = {
                "linkId": item.id,
                "prefix": item.published_id or item.id,
                "text": item.name,
                "type": "choice",
                "required": False,  # an item may be left unrated (it counts as missing)
                "answerOption": [
                    {
                        "extension": [{"url": ORDINAL_VALUE, "valueDecimal": rating}],
                        "valueCoding": {
                            "system": rating_system(scale),
                            "code": str(rating),
                            "display": item.anchors[rating],
                        },
                    }
                    for rating in scale.ratings
                ],
                "item": [
                    {
                        "extension": [
                            {
                                "url": ITEM_CONTROL,
                                "valueCodeableConcept": {
                                    "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help"}]
                                },
                            }
                        ],
                        "linkId": f"{item.id}-help",
                        "text": item.definition,
                        "type": "display",
                    }
                ],
            }
            children.append(question)
        groups.append({"linkId": f"subscale-{sub.id}", "text": sub.name, "type": "group", "item": children})
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": _fhir_id(f"{scale.id}-{scale.version}"),
        "url": questionnaire_url(scale.id),
        "version": scale.version,
        "name": _computable_name(scale.id),
        "title": scale.title,
        "status": "active",
        "description": scale.source,
        "item": groups,
    }
    if scale.notes:
        resource["purpose"] = scale.notes
    return resource


def review_to_questionnaire_response(review: Mapping[str, Any], scale: Scale) -> dict[str, Any]:
    """A stored review as a QuestionnaireResponse to the scale's Questionnaire.

    `review` is `services.reviews.review_json(db, id)`. Status: completed for a final review,
    amended for a final amendment, in-progress otherwise. Rated items are answered with the
    rating's Coding (and its anchor as display), grouped by subscale; unrated items are left
    out. `authored` is the review date; subject is the program, author the raters (by
    display name: there are no FHIR resources for them here).
    """
    ratings = {item_id: entry.get("rating") for item_id, entry in (review.get("items") or {}).items()}
    groups = []
    for sub in scale.subscales:
        answered = []
        for item_id in sub.items:
            rating = ratings.get(item_id)
            if rating is None:
                continue
            item = scale.item(item_id)
            answered.append(
                {
                    "linkId": item.id,
                    "text": item.name,
                    "answer": [
                        {
                            "valueCoding": {
                                "system": rating_system(scale),
                                "code": str(rating),
                                "display": item.anchors[int(rating)],
                            }
                        }
                    ],
                }
            )
        if answered:
            groups.append({"linkId": f"subscale-{sub.id}", "text": sub.name, "item": answered})
    status = "in-progress"
    if review.get("status") == "final":
        status = "amended" if review.get("amendment_of") else "completed"
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"review-{review['review_id']}",
        "identifier": {"system": REVIEW_IDENTIFIER_SYSTEM, "value": str(review["review_id"])},
        "questionnaire": f"{questionnaire_url(scale.id)}|{scale.version}",
        "status": status,
        "subject": {"display": review["program"]},
        "authored": str(review["review_date"]),  # the review date, not when it was typed in
        "item": groups,
    }
    raters = [r for r in review.get("raters") or [] if r]
    if raters:
        resource["author"] = {"display": ", ".join(raters)}
    if not groups:
        del resource["item"]
    return resource


def _computable_name(scale_id: str) -> str:
    """Questionnaire.name must look like a programming identifier starting with a capital."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", scale_id.upper())
    return name if name[:1].isalpha() else f"S_{name}"


def _fhir_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def validate_resource(
    resource: Mapping[str, Any], questionnaire: Mapping[str, Any] | None = None
) -> list[str]:
    """Problems with a Questionnaire or QuestionnaireResponse (empty: valid), one per line.

    Structure, cardinality and data types come from the fhir.resources R4B models; codes,
    linkIds and (given the Questionnaire) answers are checked here. Raises ImportError when
    fhir.resources is not installed (`pip install -e ".[dev]"`).
    """
    from pydantic import ValidationError  # with the optional fhir.resources, below

    kind = resource.get("resourceType")
    if kind == "Questionnaire":  # fhir.resources is optional (the dev extra): imported when validating
        from fhir.resources.R4B.questionnaire import Questionnaire as Model
    elif kind == "QuestionnaireResponse":
        from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as Model  # type: ignore[assignment]
    else:
        return [f"resourceType must be Questionnaire or QuestionnaireResponse, not {kind!r}"]
    problems: list[str] = []
    try:
        Model.model_validate(dict(resource))
    except ValidationError as exc:
        problems.extend(
            f"{'.'.join(str(p) for p in err['loc'])}: {pydantic_message(err)}" for err in exc.errors()
        )
    if kind == "Questionnaire":
        problems.extend(_questionnaire_codes(resource))
    else:
        problems.extend(_response_codes(resource, questionnaire))
    return problems


def _walk(items: Iterable[Mapping[str, Any]], path: str = "item") -> Iterable[tuple[str, Mapping[str, Any]]]:
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        yield where, item
        yield from _walk(item.get("item") or [], f"{where}.item")
        for a_index, answer in enumerate(item.get("answer") or []):
            yield from _walk(answer.get("item") or [], f"{where}.answer[{a_index}].item")


def _questionnaire_codes(resource: Mapping[str, Any]) -> list[str]:
    problems = []
    if resource.get("status") not in QUESTIONNAIRE_STATUS:
        problems.append(f"status: {resource.get('status')!r} is not one of {sorted(QUESTIONNAIRE_STATUS)}")
    name = resource.get("name")
    if name is not None and not re.fullmatch(r"[A-Z]([A-Za-z0-9_]){0,254}", name):
        problems.append(f"name: {name!r} is not a computable name (que-0)")
    seen: set[str | None] = set()
    for where, item in _walk(resource.get("item") or []):
        link_id = item.get("linkId")
        if link_id in seen:
            problems.append(f"{where}.linkId: {link_id!r} is used twice")
        seen.add(link_id)
        kind = item.get("type")
        if kind not in R4_ITEM_TYPES:
            problems.append(f"{where}.type: {kind!r} is not an R4 item type")
        if kind == "group" and not item.get("item"):
            problems.append(f"{where}: a group must contain items (que-1)")
        if kind == "display" and (item.get("required") or item.get("answerOption")):
            problems.append(f"{where}: a display item cannot be required or have options (que-6)")
        if item.get("answerOption") and kind not in ("choice", "open-choice"):
            problems.append(f"{where}: only choice items can have answerOption (que-5)")
        codes = [o.get("valueCoding", {}).get("code") for o in item.get("answerOption") or []]
        if len(codes) != len(set(codes)):
            problems.append(f"{where}.answerOption: a code is offered twice")
    return problems


def _response_codes(resource: Mapping[str, Any], questionnaire: Mapping[str, Any] | None) -> list[str]:
    problems = []
    if resource.get("status") not in RESPONSE_STATUS:
        problems.append(f"status: {resource.get('status')!r} is not one of {sorted(RESPONSE_STATUS)}")
    if questionnaire is None:
        return problems
    canonical = f"{questionnaire.get('url')}|{questionnaire.get('version')}"
    if resource.get("questionnaire") != canonical:
        problems.append(f"questionnaire: {resource.get('questionnaire')!r} is not {canonical!r}")
    questions = {item.get("linkId"): item for _, item in _walk(questionnaire.get("item") or [])}
    for where, item in _walk(resource.get("item") or []):
        question = questions.get(item.get("linkId"))
        if question is None:
            problems.append(f"{where}.linkId: {item.get('linkId')!r} is not in the questionnaire")
            continue
        options = {
            (o["valueCoding"].get("system"), o["valueCoding"].get("code"))
            for o in question.get("answerOption") or []
            if "valueCoding" in o
        }
        for a_index, answer in enumerate(item.get("answer") or []):
            coding = answer.get("valueCoding")
            if coding is None or (coding.get("system"), coding.get("code")) not in options:
                problems.append(f"{where}.answer[{a_index}]: not one of the question's answerOptions")
    return problems
