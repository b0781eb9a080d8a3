"""The live conversation engine: one per ConversationRelay socket, speaking Twilio's protocol.

In: setup, prompt (voicePrompt, lang, last), interrupt (utteranceUntilInterrupt, durationUntilInterruptMs),
dtmf, info, error. Out: text (token, last, interruptible, preemptible, lang), sendDigits, language, end
(handoffData).

The caller's turn ends with a prompt whose `last` is true; the reply streams to Twilio token by token as the
provider yields them, and nothing on that path waits for the database: turns and events are written in order
by one writer task per conversation, on a worker thread, in the tenant's schema (`in_tenant`). Each reply
has a generation; an interrupt cancels the reply in flight and moves the generation, so no token of the old
reply is sent after it, and the stored assistant turn is cut to what the caller heard.

When the provider fails the reply is tried again with the agent's fallback model; without one (or when that
fails too) the caller hears an apology and the call ends cleanly. The conversation is saved either way, and
when the socket closes `results.conversation_finished` takes over (analysis, end-of-call webhook).
"""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import structlog
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.models import Tenant
from voice.agents.config import AgentConfig
from voice.agents.credentials import llm_credentials_for
from voice.agents.llm import (
    ChatMessage,
    LLMCredentials,
    LLMError,
    LLMRequest,
    TextDelta,
    ToolCall,
    stream_reply,
)
from voice.agents.lookup import agent_config_for_agent, agent_config_for_number, agent_config_of_version
from voice.agents.models import Agent, AgentVersion
from voice.conversations import outbound, results, tools
from voice.conversations.models import Conversation, ConversationEvent, Turn
from voice.conversations.relay import (
    AGENT_ID,
    AGENT_VERSION,
    CONTACT_PREFIX,
    CONVERSATION_CONTEXT,
    DIRECTION,
    VARIABLE_PREFIX,
)

logger = structlog.get_logger(__name__)

T = TypeVar("T")
Send = Callable[[dict[str, Any]], Awaitable[None]]

APOLOGY = "I'm sorry, I'm having trouble answering right now. Please call again a little later. Goodbye."
MAX_DURATION_LINE = "We have reached the time limit for this call. Thank you for calling, goodbye."
SILENCE_LINE = "I haven't heard anything for a while, so I'll end the call now. Goodbye."
TOOL_UNAVAILABLE = "That tool is not available on this call."
# Said between the words of a model that failed mid-answer and its fallback's answer, so they do not run together.
BRIDGE = "Sorry, let me put that another way."
MAX_TOOL_ROUNDS = 4  # a model that keeps calling tools gets this many answers back before it must speak


async def in_tenant(tenant: Tenant, work: Callable[[], T]) -> T:
    """`work()` on a worker thread with the connection in the tenant's schema: the thread-pool hop never sees
    whatever schema the thread's connection was left in."""
    return await database_sync_to_async(_run_in_tenant, thread_sensitive=False)(tenant, work)


def _run_in_tenant(tenant: Tenant, work: Callable[[], T]) -> T:
    with tenant_context(tenant):
        return work()


@dataclass
class Reply:
    """The agent's reply to one caller turn, as far as it got."""

    index: int
    started: float  # monotonic: when the caller's turn ended
    history_start: int  # where its messages begin in the engine's history
    generation: int
    text: str = ""
    latency_ms: float | None = None
    stored: bool = False  # its Turn row is written (or queued): an interrupt updates it
    cut: bool = False
    answer_start: int = 0  # where the current model answer's words begin in `text` (earlier ones ran tools)


@dataclass(frozen=True)
class Begun:
    conversation_id: int
    config: AgentConfig
    credentials: LLMCredentials | None
    customer_number: str
    agent_number: str
    contact: dict[str, Any]
    greeting_index: int | None


@dataclass
class ConversationEngine:
    tenant: Tenant
    send: Send
    close: Callable[[], Awaitable[None]]
    direction: str = Conversation.Direction.INBOUND
    closes_itself: bool = False  # the console closes its socket after `end`; Twilio closes a relay's itself
    conversation_id: int | None = None
    config: AgentConfig | None = None
    credentials: LLMCredentials | None = None
    language: str = ""
    history: list[ChatMessage] = field(default_factory=list)
    system: str = ""
    ending: bool = False
    finished: bool = False
    end_reason: str = ""
    status: str = Conversation.Status.LIVE
    _next_index: int = 0
    _generation: int = 0
    _reply: Reply | None = None
    _reply_task: asyncio.Task[None] | None = None
    _partial: list[str] = field(default_factory=list)
    _writes: asyncio.Queue[Callable[[], object]] = field(default_factory=asyncio.Queue)
    _writer: asyncio.Task[None] | None = None
    _first_token_sent: asyncio.Event = field(default_factory=asyncio.Event)
    _watchdog: asyncio.Task[None] | None = None
    _end_task: asyncio.Task[None] | None = None
    _started: float = field(default_factory=time.monotonic)
    _last_activity: float = field(default_factory=time.monotonic)
    _customer_number: str = ""
    _agent_number: str = ""

    # --- the protocol ----------------------------------------------------------------------------------

    async def receive(self, message: dict[str, Any], *, received_at: float | None = None) -> None:
        received_at = received_at or time.monotonic()
        kind = message.get("type")
        if kind == "setup":
            if self.conversation_id is None:
                await self._setup(message)
            return
        if self.conversation_id is None or self.finished:
            logger.info("conversation_message_before_setup", kind=kind)
            return
        if kind == "prompt":
            self._prompt(message, received_at)
        elif kind == "interrupt":
            self._interrupt(message)
        elif kind == "dtmf":
            self._dtmf(message, received_at)
        elif kind in ("info", "error"):
            self._event(kind, {k: v for k, v in message.items() if k != "type"})
        else:
            self._event(ConversationEvent.Kind.ERROR, {"description": f"unknown message type {kind!r}"})

    async def _setup(self, message: dict[str, Any]) -> None:
        self._first_token_sent.set()  # no reply is waiting yet
        self._writer = asyncio.create_task(self._write_loop())
        begun = await in_tenant(self.tenant, lambda: _begin(message, self.direction))
        self.conversation_id, self.config, self.credentials = begun.conversation_id, begun.config, begun.credentials
        self.language = begun.config.language
        self._customer_number = begun.customer_number
        self._agent_number = begun.agent_number
        self.system = _system_prompt(begun.config, begun.customer_number, begun.contact)
        structlog.contextvars.bind_contextvars(conversation_id=self.conversation_id)
        if begun.greeting_index is not None:
            self.history.append(ChatMessage(role="assistant", content=begun.config.greeting.strip()))
            self._reply = Reply(
                index=begun.greeting_index,
                started=time.monotonic(),
                history_start=0,
                generation=0,
                text=begun.config.greeting.strip(),
                stored=True,
            )
            self._next_index = begun.greeting_index + 1
        self._watchdog = asyncio.create_task(self._watch())

    def _prompt(self, message: dict[str, Any], received_at: float) -> None:
        self._last_activity = received_at
        self._partial.append(str(message.get("voicePrompt") or ""))
        if not message.get("last", True):
            return  # a partial: the utterance is the partials and the last prompt, in order
        said, self._partial = "".join(self._partial).strip(), []
        if not said or self.ending:
            return
        lang = str(message.get("lang") or self.language)
        self._caller_said(said, lang, received_at)

    def _dtmf(self, message: dict[str, Any], received_at: float) -> None:
        self._last_activity = received_at
        digit = str(message.get("digit") or "")
        self._event(ConversationEvent.Kind.DTMF, {"digit": digit})
        if digit and not self.ending:
            self._start_reply(
                ChatMessage(role="user", content=f"(The caller pressed {digit} on the keypad.)"), received_at
            )

    def _caller_said(self, said: str, lang: str, received_at: float) -> None:
        config = self._config
        index = self._take_index()
        conversation_id = self._id
        self._write(
            lambda: Turn.objects.create(
                conversation_id=conversation_id, index=index, role=Turn.Role.USER, content=said, lang=lang
            )
        )
        switch = lang != self.language and lang in config.languages
        if switch:
            self.language = lang
        self._start_reply(ChatMessage(role="user", content=said), received_at, switch_language=switch)

    def _start_reply(self, said: ChatMessage, received_at: float, *, switch_language: bool = False) -> None:
        if self._reply_task is not None and not self._reply_task.done():
            self._cut(self._reply.text if self._reply else "", durations={})  # spoken over without an interrupt
        self._generation += 1
        self.history.append(said)
        reply = Reply(
            index=self._take_index(), started=received_at, history_start=len(self.history), generation=self._generation
        )
        self._reply = reply
        self._first_token_sent.clear()
        self._reply_task = asyncio.create_task(self._respond(reply, switch_language=switch_language))
        self._reply_task.add_done_callback(partial(self._reply_done, reply))

    def _reply_done(self, reply: Reply, task: asyncio.Task[None]) -> None:
        if reply is self._reply:  # an older reply ending late does not let the writes in on this one
            self._first_token_sent.set()

    def _interrupt(self, message: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        heard = str(message.get("utteranceUntilInterrupt") or "")
        self._cut(heard, durations={"durationUntilInterruptMs": message.get("durationUntilInterruptMs")})

    def _cut(self, heard: str, *, durations: dict[str, Any]) -> None:
        """Barge-in: the reply in flight stops here and its turn keeps what the caller heard. Not once the call is
        ending: its last words and `end` (a transfer's handoff) go out whatever the caller says over them."""
        if self.ending:
            return
        reply = self._reply
        self._generation += 1  # whatever the old reply still yields is never sent
        self._first_token_sent.set()
        if self._reply_task is not None and not self._reply_task.done():
            self._reply_task.cancel()
        if reply is None or reply.cut:
            return
        reply.cut = True
        generated, heard = reply.text, heard.strip()
        if reply is self._reply:  # what the model reads next time: the reply as far as it was heard
            del self.history[reply.history_start :]
            if heard:
                self.history.append(ChatMessage(role="assistant", content=heard))
        self._event(ConversationEvent.Kind.INTERRUPT, {"heard": heard, "generated": generated, **durations})
        conversation_id, index = self._id, reply.index
        if reply.stored:
            self._write(
                lambda: Turn.objects.filter(conversation_id=conversation_id, index=index).update(
                    content=heard, heard=heard, interrupted=True
                )
            )
        else:
            self._store_reply(reply, content=heard, heard=heard, interrupted=True)

    # --- replying --------------------------------------------------------------------------------------

    async def _respond(self, reply: Reply, *, switch_language: bool = False) -> None:
        config = self._config
        if switch_language:  # the caller changed language: Twilio speaks and listens in it from this reply on
            await self.send({"type": "language", "ttsLanguage": self.language, "transcriptionLanguage": self.language})
        model, fallback_used = config.llm_model, False
        rounds = 0
        reply.answer_start = len(reply.text)
        while True:
            request = LLMRequest(
                provider=config.llm_provider,
                model=model,
                system=self.system,
                messages=tuple(self.history),
                tools=tools.tool_specs(config),
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                timeout_seconds=settings.CONVERSATION_LLM_TIMEOUT_SECONDS,
                credentials=self.credentials,
            )
            try:
                if self.credentials is None:
                    raise LLMError(f"no credentials for provider {config.llm_provider!r}")
                calls = await self._stream(reply, request)
            except LLMError as failure:
                self._event(ConversationEvent.Kind.ERROR, {"description": str(failure), "model": model})
                logger.warning("conversation_llm_failed", model=model, error=str(failure))
                if config.llm_fallback_model and not fallback_used:
                    model, fallback_used = config.llm_fallback_model, True
                    if len(reply.text) > reply.answer_start:  # the caller heard the start of the failed answer
                        await self._token(reply, _separated(reply.text, BRIDGE + " "))
                    continue
                reason = Conversation.EndReason.ERROR
                self._end_soon(reply, {"reason": reason}, reason=reason, line=APOLOGY, failed=True)
                return
            if reply.generation != self._generation:
                return
            spoken = reply.text[reply.answer_start :]  # what the caller heard of it (with a bridge after a failure)
            if not calls:
                self.history.append(ChatMessage(role="assistant", content=spoken))
                break
            self.history.append(ChatMessage(role="assistant", content=spoken, tool_calls=tuple(calls)))
            reply.answer_start = len(reply.text)
            rounds += 1
            ended = await self._run_tools(reply, calls)
            if ended or rounds >= MAX_TOOL_ROUNDS:
                if not ended:
                    self.history.append(ChatMessage(role="assistant", content=""))
                    await self._finish_text(reply)
                return
        await self._finish_text(reply)

    async def _stream(self, reply: Reply, request: LLMRequest) -> list[ToolCall]:
        """One model answer, its text forwarded token by token as it arrives (into `reply.text`); returns its tool
        calls."""
        calls: list[ToolCall] = []
        async with aclosing(stream_reply(request)) as events:
            async for event in events:
                if reply.generation != self._generation:
                    break
                if isinstance(event, TextDelta):
                    if event.text:
                        await self._token(reply, event.text)
                elif isinstance(event, ToolCall):
                    calls.append(event)
        return calls

    async def _token(self, reply: Reply, token: str, *, last: bool = False) -> None:
        if reply.generation != self._generation:
            return
        await self.send(
            {
                "type": "text",
                "token": token,
                "last": last,
                "interruptible": self._config.interruptible != "none",
                "preemptible": True,
                "lang": self.language,
            }
        )
        reply.text += token
        if reply.latency_ms is None and token:
            reply.latency_ms = (time.monotonic() - reply.started) * 1000
            self._first_token_sent.set()

    async def _finish_text(self, reply: Reply) -> None:
        """The reply is complete: Twilio hears the end of it, and its turn is written."""
        await self._token(reply, "", last=True)
        if reply.generation != self._generation or reply.stored:
            return
        self._last_activity = time.monotonic()
        self._store_reply(reply, content=reply.text)

    def _store_reply(self, reply: Reply, *, content: str, heard: str = "", interrupted: bool = False) -> None:
        """The reply's assistant turn, in the language it was spoken in."""
        reply.stored = True
        fields = {
            "conversation_id": self._id,
            "index": reply.index,
            "role": Turn.Role.ASSISTANT,
            "content": content,
            "heard": heard,
            "interrupted": interrupted,
            "lang": self.language,
            "latency_ms": reply.latency_ms,
        }
        self._write(lambda: Turn.objects.create(**fields))

    async def _run_tools(self, reply: Reply, calls: list[ToolCall]) -> bool:
        """Runs the model's tool calls in order; True when one of them ended the call."""
        config = self._config
        offered = {spec.name for spec in tools.tool_specs(config)}
        for call in calls:
            self._event(ConversationEvent.Kind.TOOL_CALL, {"name": call.name, "arguments": call.arguments})
            if call.name not in offered:
                outcome = TOOL_UNAVAILABLE
            elif call.name == tools.TRANSFER_TO_HUMAN:
                number = tools.transfer_target(config, call.arguments)
                summary = str(call.arguments.get("summary") or call.arguments.get("reason") or "")[:500]
                handoff = {
                    "reason": tools.TRANSFER_TO_HUMAN,
                    "transferTo": number,
                    "summary": summary,
                    "conversationId": self.conversation_id,
                }
                self._end_soon(reply, handoff, reason=Conversation.EndReason.TRANSFERRED)
                return True
            elif call.name == tools.END_CALL:
                detail = str(call.arguments.get("reason") or "")[:200]
                self._end_soon(
                    reply, {"reason": tools.END_CALL, "detail": detail}, reason=Conversation.EndReason.AGENT_ENDED
                )
                return True
            elif call.name == tools.PRESS_DIGITS:
                digits = tools.digits_checked(call.arguments)
                if digits is None:
                    outcome = "Not pressed: use only 0-9, * and # (and w to wait)."
                else:
                    await self.send({"type": "sendDigits", "digits": digits})
                    outcome = f"Pressed {digits}."
            else:  # send_sms
                send_sms = partial(
                    tools.caller_sms_send,
                    to=self._customer_number,
                    agent_number=self._agent_number,
                    body=str(call.arguments.get("body") or ""),
                )
                outcome = await in_tenant(self.tenant, send_sms)
            self.history.append(ChatMessage(role="tool", content=outcome, tool_call_id=call.id))
        return False

    # --- ending ----------------------------------------------------------------------------------------

    def _end_soon(
        self, reply: Reply | None, handoff: dict[str, Any], *, reason: str, line: str = "", failed: bool = False
    ) -> None:
        """From here the call is ending: no prompt or interrupt changes that. The reply's last words (and `line`
        after them) and `end` go out from a task of their own, which a barge-in cancelling the reply cannot stop."""
        if self.ending:
            return
        self.ending = True
        self._first_token_sent.set()  # nothing more waits for a first token: the writes go now
        self.end_reason = reason
        self.status = Conversation.Status.FAILED if failed else Conversation.Status.ENDED
        self._end_task = asyncio.create_task(self._end(reply, handoff, line=line))

    async def _end(self, reply: Reply | None, handoff: dict[str, Any], *, line: str) -> None:
        """Says the last words, writes the conversation's end (the action callback reads it), then sends `end`."""
        if line:
            if reply is None or reply.generation != self._generation:
                self._generation += 1
                reply = Reply(
                    index=self._take_index(),
                    started=time.monotonic(),
                    history_start=len(self.history),
                    generation=self._generation,
                )
                self._reply = reply
            await self._token(reply, _separated(reply.text, line))
            self.history.append(ChatMessage(role="assistant", content=reply.text[reply.answer_start :]))
        if reply is not None:
            await self._finish_text(reply)
        conversation_id, reason, status = self._id, self.end_reason, self.status
        self._write(
            lambda: Conversation.objects.filter(pk=conversation_id).update(
                end_reason=reason, handoff_data=handoff, status=status
            )
        )
        await self._writes_done()
        await self.send({"type": "end", "handoffData": json.dumps(handoff)})
        if self.closes_itself:
            await self.close()

    async def _watch(self) -> None:
        """Max duration and silence timeout, checked a few times a second."""
        config = self._config
        silence = config.silence_timeout_seconds
        interval = min(1.0, max(0.05, (silence or 4) / 4))
        while not self.ending:
            await asyncio.sleep(interval)
            now = time.monotonic()
            replying = self._reply_task is not None and not self._reply_task.done()
            if now - self._started >= config.max_duration_seconds:
                self._cut_quietly()
                reason = Conversation.EndReason.MAX_DURATION
                self._end_soon(None, {"reason": reason}, reason=reason, line=MAX_DURATION_LINE)
            elif silence and not replying and now - self._last_activity >= silence:
                reason = Conversation.EndReason.SILENCE
                self._end_soon(None, {"reason": reason}, reason=reason, line=SILENCE_LINE)

    def _cut_quietly(self) -> None:
        if self._reply_task is not None and not self._reply_task.done():
            self._cut(self._reply.text if self._reply else "", durations={})

    async def disconnected(self) -> None:
        """The socket closed (the caller hung up, Twilio ended the relay, the console left): save and hand on."""
        if self.finished:
            return
        self.finished = True
        tasks = (self._reply_task, self._watchdog, self._end_task)
        running = [task for task in tasks if task is not None and not task.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)  # nothing of theirs is sent or written after this
        if self.conversation_id is None:
            if self._writer is not None:
                self._writer.cancel()
            return
        reply = self._reply
        if reply is not None and not reply.stored:  # hung up mid-reply: the turn keeps what was sent
            self._store_reply(reply, content=reply.text)
        conversation_id = self._id
        reason = self.end_reason or Conversation.EndReason.CALLER_HUNG_UP
        status = self.status if self.status != Conversation.Status.LIVE else Conversation.Status.ENDED
        self._write(
            lambda: Conversation.objects.filter(pk=conversation_id).update(
                status=status, end_reason=reason, ended_at=timezone.now()
            )
        )
        await self._writes_done()
        if self._writer is not None:
            self._writer.cancel()
        try:
            await in_tenant(self.tenant, lambda: _finished(conversation_id))
        except Exception:  # the conversation is saved; what comes after it must not take the socket down
            logger.exception("conversation_finish_failed")

    # --- bookkeeping -----------------------------------------------------------------------------------

    @property
    def _id(self) -> int:
        if self.conversation_id is None:
            raise RuntimeError("the conversation has not been set up")
        return self.conversation_id

    @property
    def _config(self) -> AgentConfig:
        if self.config is None:
            raise RuntimeError("the conversation has not been set up")
        return self.config

    def _take_index(self) -> int:
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    def _event(self, kind: str, payload: dict[str, Any]) -> None:
        conversation_id = self._id
        self._write(
            lambda: ConversationEvent.objects.create(conversation_id=conversation_id, kind=kind, payload=payload)
        )

    def _write(self, work: Callable[[], object]) -> None:
        self._writes.put_nowait(work)

    async def _writes_done(self) -> None:
        """Waits for the writes made so far, but not for ever: a stuck database must not keep the call open."""
        try:
            await asyncio.wait_for(self._writes.join(), timeout=settings.CONVERSATION_WRITES_TIMEOUT_SECONDS)
        except TimeoutError:
            logger.warning("conversation_writes_timed_out", waiting=self._writes.qsize())

    async def _write_loop(self) -> None:
        """The conversation's writes in the order they were made, those waiting taken together in one hop to a
        thread, and never while a reply waits for its first token (that path shares the process with them)."""
        while True:
            batch = [await self._writes.get()]
            await self._first_token_sent.wait()
            while not self._writes.empty():
                batch.append(self._writes.get_nowait())
            try:
                await in_tenant(self.tenant, partial(_run_each, batch))
            except Exception:  # the hop itself failed: these rows are lost, the writes after them still go
                logger.exception("conversation_writes_failed", lost=len(batch))
            finally:
                for _ in batch:
                    self._writes.task_done()


# --- in the tenant's schema (worker thread) ----------------------------------------------------------------


def _begin(setup: dict[str, Any], direction: str) -> Begun:
    """The conversation of this call (the outbound one made when it was placed, or a new one), the agent
    configuration it runs, its LLM credentials, and its greeting as the first turn."""
    params = {str(k): str(v) for k, v in (setup.get("customParameters") or {}).items()}
    direction = params.get(DIRECTION) or direction
    if direction not in Conversation.Direction.values:
        direction = Conversation.Direction.INBOUND
    caller, called = str(setup.get("from") or ""), str(setup.get("to") or "")
    customer, agent_number = (called, caller) if direction == Conversation.Direction.OUTBOUND else (caller, called)
    config = _config_for(params, agent_number)
    call_sid = str(setup.get("callSid") or "")
    conversation = _conversation_for(params, call_sid, direction, config, customer, agent_number)
    setup_payload = {k: setup.get(k) for k in ("callSid", "from", "to", "direction", "callType", "customParameters")}
    ConversationEvent.objects.create(
        conversation=conversation, kind=ConversationEvent.Kind.SETUP, payload=setup_payload
    )
    greeting_index = None
    greeting = config.greeting.strip()
    if greeting and not conversation.turns.exists():
        Turn.objects.create(
            conversation=conversation, index=0, role=Turn.Role.ASSISTANT, content=greeting, lang=config.language
        )
        greeting_index = 0
    return Begun(
        conversation_id=conversation.pk,
        config=config,
        credentials=llm_credentials_for(provider=config.llm_provider),
        customer_number=customer,
        agent_number=agent_number,
        contact=conversation.contact or _contact_from(params, customer),
        greeting_index=greeting_index,
    )


def _config_for(params: dict[str, str], agent_number: str) -> AgentConfig:
    """The version the TwiML named (a call keeps the version it started with), else the number's agent."""
    agent_id, version = _integer(params.get(AGENT_ID)), _integer(params.get(AGENT_VERSION))
    if agent_id is not None:
        try:
            if version:
                return agent_config_of_version(agent_id=agent_id, version=version)
            return agent_config_for_agent(agent_id=agent_id)
        except (Agent.DoesNotExist, AgentVersion.DoesNotExist):
            logger.info("conversation_agent_missing", agent_id=agent_id, version=version)
    return agent_config_for_number(phone_number=agent_number)


def _conversation_for(
    params: dict[str, str], call_sid: str, direction: str, config: AgentConfig, customer: str, agent_number: str
) -> Conversation:
    made_id = _integer(params.get(CONVERSATION_CONTEXT))
    if made_id is not None:
        made = outbound.placed_conversation_for(conversation_id=made_id, call_sid=call_sid)
        if made is not None:
            made.call_sid, made.started_at = call_sid, timezone.now()  # answered now, not when it was placed
            made.save(update_fields=["call_sid", "started_at"])
            return made
    fields = {
        "direction": direction,
        "agent_id": config.agent_id,
        "agent_name": config.name,
        "agent_version": config.version,
        "customer_number": customer,
        "agent_number": agent_number,
        "contact": _contact_from(params, customer),
    }
    if not call_sid:
        return Conversation.objects.create(**fields)
    conversation, _ = Conversation.objects.get_or_create(call_sid=call_sid, defaults=fields)
    return conversation


def _contact_from(params: dict[str, str], customer: str) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone": customer}
    for part in ("name", "email"):
        if params.get(CONTACT_PREFIX + part):
            contact[part] = params[CONTACT_PREFIX + part]
    variables = {k[len(VARIABLE_PREFIX) :]: v for k, v in params.items() if k.startswith(VARIABLE_PREFIX)}
    if variables:
        contact["variables"] = variables
    return contact


def _system_prompt(config: AgentConfig, customer: str, contact: dict[str, Any]) -> str:
    """The agent's prompt and what it may know about this call (the caller's number, the contact's details)."""
    facts = [f"The other party's phone number: {customer or 'unknown'}."]
    if contact.get("name"):
        facts.append(f"Their name: {contact['name']}.")
    if contact.get("email"):
        facts.append(f"Their e-mail: {contact['email']}.")
    for name, value in (contact.get("variables") or {}).items():
        facts.append(f"{name}: {value}")
    spoken = "This is a phone call: answer in short spoken sentences, without lists, markup or emoji."
    return "\n\n".join([config.system_prompt.strip(), spoken, "About this call:\n" + "\n".join(facts)])


def _separated(spoken: str, words: str) -> str:
    """`words` to say after `spoken`, with the space between them that the caller must hear."""
    return words if not spoken or spoken.endswith(" ") else " " + words


def _run_each(batch: list[Callable[[], object]]) -> None:
    for work in batch:
        try:
            work()
        except Exception:  # one lost row must not stop the conversation or the writes after it
            logger.exception("conversation_write_failed")


def _finished(conversation_id: int) -> None:
    conversation = Conversation.objects.get(pk=conversation_id)
    results.conversation_finished(conversation=conversation)


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
