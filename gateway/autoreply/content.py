"""What an acknowledgement says, gathered at send time: hours, measured reply times, self-help, incidents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from gateway.autoreply.articles import ArticleIndex, help_links, load_articles
from gateway.autoreply.expectation import expect, moment
from gateway.autoreply.hours import SupportHours
from gateway.autoreply.incidents import incident_views, open_incidents
from gateway.autoreply.response_time import ResponseStatsCache, measure
from gateway.config import Settings
from gateway.greeting import greeting_name
from gateway.models import Conversation, Customer
from gateway.threading.subject import reply_subject


@dataclass(frozen=True)
class AutoReplyKit:
    """What is built once per process from the config: the hours, the article index, the stats cache."""

    hours: SupportHours
    articles: ArticleIndex | None
    stats: ResponseStatsCache

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], datetime]) -> AutoReplyKit:
        articles = load_articles(settings.selfhelp.articles)
        return cls(SupportHours.from_settings(settings.hours), ArticleIndex.build(articles) if articles else None,
                   ResponseStatsCache(clock=clock))


def acknowledgement_variables(tx: Session, kit: AutoReplyKit, settings: Settings, conversation: Conversation,
                              customer: Customer, partner: bool, words: str, now: datetime) -> dict[str, object]:
    """The acknowledgement template's variables for this conversation; `words` is what the customer wrote."""
    stats = kit.stats.get(conversation.channel, partner, lambda: measure(
        tx, kit.hours, settings.autoreply, conversation.channel, partner, settings.is_partner, now))
    language = conversation.language or "en"
    hours, response = expect(now, kit.hours, stats, language=language)
    articles = kit.articles.suggest(words, settings.selfhelp.max_articles) if kit.articles else ()
    incidents = incident_views(open_incidents(tx, now),
                               lambda at: moment(now, at, kit.hours, language))
    return {"customer_name": greeting_name(customer.name),
            "ref": conversation.ref, "subject": conversation.subject,
            "reply_subject": reply_subject(conversation.subject or "Your message"),
            "team": settings.mail.name, "channel": conversation.channel.partition("@")[0], "partner": partner,
            "hours": hours, "response": response, "links": list(help_links(settings.selfhelp, language)),
            "articles": list(articles), "incidents": list(incidents)}
