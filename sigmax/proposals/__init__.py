"""Approval mode: the decision graph's orders become proposals an operator approves.

``model`` holds the proposal and its state machine, ``config`` the trading mode and
time to live. The approval flow (claim, re-check with risk, execute once) is
:mod:`sigmax.trading.proposal_desk`: it executes through the trading path.
"""

from sigmax.proposals.config import ApprovalConfig, TradingMode
from sigmax.proposals.model import (
    IllegalProposalTransition,
    Proposal,
    ProposalError,
    ProposalExpired,
    ProposalNotFound,
    ProposalStatus,
    new_proposal,
    order_request_from_json,
)

__all__ = [
    "ApprovalConfig",
    "IllegalProposalTransition",
    "Proposal",
    "ProposalError",
    "ProposalExpired",
    "ProposalNotFound",
    "ProposalStatus",
    "TradingMode",
    "new_proposal",
    "order_request_from_json",
]
