"""fldeploy: deploy and diagnose chat front ends on Microsoft Foundry Local."""
__version__ = "0.1.0"
