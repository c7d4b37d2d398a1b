---
apiVersion: "bootgate.dev/v1"
kind: "PolicySignature"
spec:
  algorithm: "ed25519"
  keyId: "sha256:1518b1f57df185f6348ec44dc5f81441e19b0378dba54dca42d52f02b81b0137"
  signature: "AH0smW/Zb8Qp85UqRedOXZBG6o4veS7htduksa8sG0LFbLgdDN9nn53A6itbW3iyJHMk3P22JDN5Iqo+irZECg=="
