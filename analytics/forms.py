"""Forms for the dashboard (upload, comparison attributes, exports) and the rep actions on an
asset."""

from __future__ import annotations

from django import forms
from django.conf import settings

from analytics.exports import end_error, parquet_available
from analytics.models import AssetFeedback, Deal
from analytics.scope import strata_choices


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A Salesforce report export: CSV (any delimiter) or XLSX.")
    kind = forms.ChoiceField(
        choices=[("deals", "Opportunities"), ("history", "Opportunity history")],
        initial="deals",
    )
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Extra header mappings, one per line, e.g. 'Deal Ref = external_id'.",
    )
    date_order = forms.ChoiceField(
        choices=[("auto", "Automatic"), ("mdy", "Month first"), ("dmy", "Day first")],
        initial="auto",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run (show what would change)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"The file is larger than {settings.MAX_UPLOAD_MB} MB.")
        return upload


def deal_label(deal: Deal) -> str:
    """How a deal reads in a picker: name, account, stage and amount ("Acme renewal · Acme
    · Negotiation · 12,000 USD"), so deals with similar names are told apart."""
    parts = [deal.name or deal.external_id, deal.account, deal.stage]
    amount = f"{deal.amount:,.0f} {deal.currency}" if deal.amount else ""
    return " · ".join(part for part in [*parts, amount] if part)


class _DealChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return deal_label(obj)


def open_deals(user):
    """``user``'s own open deals, the most recently updated first (what a rep can pick)."""
    return Deal.objects.filter(owner=user, outcome=Deal.Outcome.OPEN).order_by("-updated_at", "-pk")


#: A deal picker (on an asset page, on each search result), My deals and the API's list of the
#: rep's deals show this many of the rep's open deals, the most recently updated: a rep given
#: thousands (a bulk import) made every search page carry them all on every card. Any of them
#: may still be chosen (``DealForm``).
DEALS_PICKED = 100


def picked_deals(user) -> tuple[list[Deal], bool]:
    """The open deals a picker (and My deals) lists for ``user``, with their journey stage,
    and whether there are more."""
    deals = list(open_deals(user).select_related("journey_stage")[: DEALS_PICKED + 1])
    return deals[:DEALS_PICKED], len(deals) > DEALS_PICKED


#: What ``deal_label`` reads: a picker of labels alone loads no more of each deal.
DEAL_LABEL_FIELDS = ("pk", "name", "external_id", "account", "stage", "amount", "currency")


def deal_choices(user) -> list[tuple[str, str]]:
    """``picked_deals``' deals as (id, label) choices, read with only what a label needs: each
    page of search results lists them, and loading whole deals was a tenth of its time."""
    deals = open_deals(user).only(*DEAL_LABEL_FIELDS)[:DEALS_PICKED]
    return [(str(deal.pk), deal_label(deal)) for deal in deals]


#: The first option of every deal picker a rep submits (empty value, selected, and the select
#: ``required``): no deal is chosen for the rep. The first deal used to be preselected, so one
#: click recorded a use or made a link on a deal the rep never picked, and deal touches drive
#: the effectiveness estimates.
DEAL_PLACEHOLDER = "Choose a deal…"


class DealForm(forms.Form):
    """Pick one of the rep's own open deals, the most recently updated first. Nothing picked
    (the placeholder) or a deal that is not one of them is an error naming the field."""

    deal = _DealChoice(
        queryset=Deal.objects.none(),
        empty_label=DEAL_PLACEHOLDER,
        label="Deal",
        error_messages={
            "required": "choose one of your open deals; nothing was recorded.",
            "invalid_choice": "pick one of your open deals (that one is closed or not yours).",
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deal"].queryset = open_deals(user)


#: Session key: the feedback a rep sent that was refused ({"asset", "kind", "text"}), shown
#: again in the asset's form so that nothing typed is lost.
FEEDBACK_REFUSED = "feedback_refused"


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(choices=AssetFeedback.Kind.choices)
    text = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class ContentRequestForm(forms.Form):
    """A rep asks marketing for content; ``source`` says where from (a search that found
    nothing, or the request page)."""

    text = forms.CharField(max_length=500, label="What do you need?")
    private_note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Context for marketing (only marketing sees it)",
        help_text="The deal, the customer, what the buyer asked.",
    )
    source = forms.ChoiceField(
        choices=[("request", "Request page"), ("search_gap", "Search that found nothing")],
        required=False,
        widget=forms.HiddenInput,
    )


class FieldMaterialForm(forms.Form):
    """A rep's own material for the library."""

    title = forms.CharField(max_length=255)
    file = forms.FileField(help_text="The deck or document you made or adapted.")
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What it is, and how it helped.",
    )
    deal = _DealChoice(
        queryset=Deal.objects.none(), required=False, label="The deal it helped (optional)"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deal"].queryset = Deal.objects.filter(owner=user).order_by(
            "-updated_at", "-pk"
        )


class ShareForm(DealForm):
    """One of the rep's open deals and, optionally, who the link is for."""

    recipient_note = forms.CharField(
        required=False,
        max_length=200,
        label="For",
        help_text="Who you are sending it to, so you can tell your links apart.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        messages = self.fields["deal"].error_messages
        messages["required"] = "choose one of your open deals; no link was made."


class StrataForm(forms.Form):
    """What the effectiveness estimates compare within, besides segment and owner."""

    strata = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Also compare within",
        help_text="Deals are always compared with deals of the same segment and owner.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strata"].choices = strata_choices()


def _day_field(label: str, name: str, which: str) -> forms.DateField:
    """A date box whose errors start with the field's name, as the export's other errors do."""
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": f"{name}: enter {which}.",
            "invalid": f"{name}: enter a date as YYYY-MM-DD.",
        },
    )


class ExportForm(forms.Form):
    """A date range of raw data to download (README "Raw data exports" gives the schemas)."""

    what = forms.ChoiceField(
        choices=[
            ("events", "Usage events (by when they happened)"),
            ("history", "Deal stage history (by when the stage was entered)"),
            ("deals", "Deals (by close date)"),
        ]
    )
    start = _day_field("From", "From", "the first day")
    end = _day_field("To (included)", "To", "the last day")
    format = forms.ChoiceField(choices=[("csv", "CSV")], initial="csv", required=False)
    without_history = forms.BooleanField(
        required=False, label="Deals: only closed deals without stage history"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if parquet_available():
            self.fields["format"].choices = [("csv", "CSV"), ("parquet", "Parquet")]

    def clean_end(self):
        end = self.cleaned_data["end"]
        problem = end_error(end)
        if problem:
            raise forms.ValidationError(f"To: {problem}.")
        return end

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        data["format"] = data.get("format") or "csv"
        return data
