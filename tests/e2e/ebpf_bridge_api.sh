#!/usr/bin/env bash
# ebpf_bridge_api.sh - ports added to and removed from a running
# ebpf_bridge through the REST API (what a CNI plugin does for each pod):
# a bridge configured with no interface bridges two pods once both ports
# are POSTed; bad requests get their 4xx (no token, bad JSON, an unknown
# interface or service, a duplicate, a configured port); a DELETEd port
# stops being bridged, its program and qdisc are gone, and the bridge's
# totals do not drop; a port POSTed again works again; after SIGKILL the
# next oryxd adopts the added ports from the pinned ports map and keeps
# bridging them; a clean stop leaves nothing attached.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/ebpf-bridge/tests/bridge_lib.sh"

for i in 1 2 3; do make_pod "a$i-$TAG" "ba$i-$TAG" "198.18.21.$i/24"; done
P1=a1-$TAG P2=a2-$TAG H1=ba1-$TAG H2=ba2-$TAG H3=ba3-$TAG
# One configured port (H3) beside the two the API adds.
bridge_setup bapi auto "$H3"
CFG=$(write_config bapi "$BR_BODY")
start_oryxd bapi "$CFG"
URL=$bapi_URL
H="Authorization: Bearer test-token-$TAG"
# call METHOD PATH [BODY]: prints the HTTP status; the body in $WORK/answer.json
call() {
  curl -s -o "$WORK/answer.json" -w '%{http_code}' -X "$1" -H "$H" "$URL/api/v1/bridge$2" \
    ${3:+-d "$3"}
}
pings() { ip netns exec "$P1" ping -c 1 -W 1 198.18.21.2 >/dev/null 2>&1; }

log "two pods apart until their ports are added"
! pings || fail "the pods reach each other before their ports are bridged"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/bridge/br/ports" \
     -d "{\"interface\": \"$H1\"}")" = 401 ] || fail "POST without the token was not refused"
[ "$(call POST /br/ports "{\"interface\": \"$H1\"}")" = 201 ] || fail "add $H1: $(cat "$WORK/answer.json")"
json "(j['name'], j['hook'], j['added'])" <"$WORK/answer.json" | grepq "('$H1', 'tc', True)" ||
  fail "answer: $(cat "$WORK/answer.json")"
[ "$(call POST /br/ports "{\"interface\": \"$H2\"}")" = 201 ] || fail "add $H2: $(cat "$WORK/answer.json")"
wait_until 5 pings || fail "the pods do not reach each other through the added ports"
log "  bridged: $H1 and $H2 added while running"

log "bad requests"
[ "$(call POST /br/ports "{\"interface\": \"$H1\"}")" = 409 ] || fail "a duplicate was not refused"
[ "$(call POST /br/ports '{"iface": 1}')" = 400 ] || fail "a body without interface was not refused"
[ "$(call POST /br/ports 'not json')" = 400 ] || fail "bad JSON was not refused"
[ "$(call POST /br/ports "{\"interface\": \"$H3\", \"redirect\": \"sideways\"}")" = 400 ] ||
  fail "an unknown redirect was not refused"
[ "$(call POST /br/ports '{"interface": "nosuch0"}')" = 404 ] || fail "an unknown interface was not refused"
grepq "no interface \\\\\"nosuch0\\\\\"" "$WORK/answer.json" || fail "the answer does not name it: $(cat "$WORK/answer.json")"
[ "$(call POST /nosuch/ports "{\"interface\": \"$H1\"}")" = 404 ] || fail "an unknown bridge was not refused"
[ "$(call DELETE "/br/ports/$H3")" = 409 ] || fail "a configured port was removed through the API"
[ "$(call DELETE /br/ports/nosuch0)" = 404 ] || fail "removing a non-port was not refused"
[ "$(call PUT /br/ports "{\"interface\": \"$H1\"}")" = 405 ] || fail "PUT was not refused"

log "removed: no longer bridged, nothing left on it, totals kept"
ip netns exec "$P1" ping -c 20 -i 0.05 -W 1 198.18.21.2 >/dev/null || fail "20 pings"
OLD_H2=$(br_port_counter "$URL" "$H2" rx_frames)
[ "$OLD_H2" -ge 20 ] || fail "$H2 counted $OLD_H2 frames for 20 ping replies"
IN_BEFORE=$(br_counter "$URL" frames_in)
[ "$(call DELETE "/br/ports/$H2")" = 200 ] || fail "remove $H2: $(cat "$WORK/answer.json")"
! tc filter show dev "$H2" ingress | grepq oryx_br_tc || fail "the TC filter stayed on $H2"
! tc qdisc show dev "$H2" | grepq clsact || fail "the clsact qdisc stayed on $H2"
! pings || fail "the pods still reach each other after $H2 was removed"
IN_AFTER=$(br_counter "$URL" frames_in)
[ "$IN_AFTER" -ge "$IN_BEFORE" ] || fail "frames_in dropped from $IN_BEFORE to $IN_AFTER"
api "$URL" /api/v1/bridge | json "[p['name'] for p in j['bridges'][0]['ports']]" | grepq "'$H2'" &&
  fail "$H2 still listed"
[ "$(call POST /br/ports "{\"interface\": \"$H2\"}")" = 201 ] || fail "add $H2 again: $(cat "$WORK/answer.json")"
wait_until 5 pings || fail "the pods do not reach each other after $H2 came back"
NEW_H2=$(br_port_counter "$URL" "$H2" rx_frames)
[ "$NEW_H2" -lt "$OLD_H2" ] || fail "$H2's counters did not start over ($NEW_H2, before $OLD_H2)"

log "SIGKILL: the added ports stay bridged, and the next oryxd adopts them"
kill -KILL "$bapi_PID"
wait "$bapi_PID" 2>/dev/null || true
pings || fail "the data path did not outlive oryxd"
start_oryxd bapi "$CFG"
URL=$bapi_URL
api "$URL" /api/v1/bridge | json "sorted((p['name'], p['added']) for p in j['bridges'][0]['ports'])" |
  grepq "('$H1', True), ('$H2', True), ('$H3', False)" ||
  fail "ports after the restart: $(api "$URL" /api/v1/bridge)"
wait_until 5 pings || fail "the pods do not reach each other after the takeover"
stop_oryxd "$bapi_PID" || fail "oryxd exit status $?"
LEFT=$(bridge_leftovers "$BR_PINS" "$H1" "$H2" "$H3")
[ -z "$LEFT" ] || fail "left after a clean stop: $LEFT"
log "PASS"
