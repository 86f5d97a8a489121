"""Live workshops: the session store shared by the facilitator's and participants' kernels."""
