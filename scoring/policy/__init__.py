"""Credit policy beside the model: versions of knock-out and referral rules, checked, simulated and activated.

``registry`` says which version is live in this process (compiled once, switched like the model);
``services`` drafts, checks, submits and activates versions (four eyes) and moves them in and out as
ZEN decision models; ``simulation`` replays stored decisions under a version; ``defaults`` is the
policy a new installation starts with. The rules are evaluated by scoring.engine.policy.
"""
