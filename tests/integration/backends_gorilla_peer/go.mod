module backends_gorilla_peer

go 1.22

require github.com/gorilla/websocket v1.5.3
