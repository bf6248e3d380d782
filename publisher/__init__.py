"""publisher: weekly post-mortems for build-in-public paper-trading bots.

Pipeline, one module per stage, data flowing one way:
book -> facts -> drafting -> charts/render -> site/feed/newsletter/devto -> deploy.
"""

__version__ = "0.1.0"
