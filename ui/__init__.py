"""ConsentDesk's Qt workstation UI. It talks to the core only through ``app.desk.Desk``."""
