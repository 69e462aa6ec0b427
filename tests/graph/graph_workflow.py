"""A human-in-the-loop workflow shared by the tests and the subprocesses they start.

    python graph_workflow.py start DB THREAD          -> runs until the pause, prints JSON
    python graph_workflow.py resume DB THREAD ANSWER  -> resumes in this (fresh) process, prints JSON
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal

from pydantic import BaseModel

from ragforge.graph import END, START, SqliteCheckpointer, StateGraph, append, interrupt


class Ticket(BaseModel):
    request: str
    draft: str = ""
    answer: str = ""
    sent: bool = False
    log: Annotated[list[str], append] = []


def draft(state: Ticket) -> dict:
    return {"draft": f"Refund approved for: {state.request}", "log": "draft"}


def ask_human(state: Ticket) -> dict:
    answer = interrupt({"question": "Send this reply?", "draft": state.draft})
    return {"answer": answer, "log": f"human said {answer}"}


def decide(state: Ticket) -> Literal["send", "stop"]:
    return "send" if state.answer == "yes" else "stop"


def send_email(state: Ticket) -> dict:  # the sensitive step
    return {"sent": True, "log": "sent"}


def build(db: str, *, pause_before_send: bool = False):
    graph = StateGraph(Ticket, name="refund")
    graph.add_sequence(draft, ask_human).add_node(send_email)
    graph.add_edge(START, "draft").add_conditional_edges("ask_human", decide, {"send": "send_email", "stop": END})
    graph.add_edge("send_email", END)
    before = ["send_email"] if pause_before_send else []
    return graph.compile(checkpointer=SqliteCheckpointer(db), interrupt_before=before)


def main(argv: list[str]) -> None:
    command, db, thread = argv[:3]
    app = build(db)
    if command == "start":
        result = app.run({"request": argv[3] if len(argv) > 3 else "order 42"}, thread_id=thread)
    else:
        result = app.run(None, thread_id=thread, resume=argv[3])
    print(json.dumps({"status": result.status, "state": result.state.model_dump(),
                      "interrupt": result.interrupted.to_dict() if result.interrupted else None,
                      "steps": [s.nodes[0].node for s in result.trace.steps]}))


if __name__ == "__main__":
    main(sys.argv[1:])
