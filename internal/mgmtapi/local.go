package mgmtapi

// localRoutes registers S4's /api/local routes (being written).
func (a *API) localRoutes() {}
