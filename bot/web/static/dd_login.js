// DingTalk in-app login (H5 免登): ask DingTalk for a one-time code with the JS SDK genjin serves itself
// (vendor/dingtalk-jsapi-*.js), then hand it to genjin's callback with this login's state.
// https://open.dingtalk.com/document/orgapp/jsapi-request-auth-code
(function () {
  "use strict";
  var box = document.getElementById("dd-login");
  var status = document.getElementById("dd-login-status");
  var fallback = document.getElementById("dd-login-fallback");
  function fail(text) {
    status.textContent = text;
    fallback.hidden = false;
  }
  var dd = window.dd;
  if (!box || !dd || !dd.runtime || !dd.runtime.permission || !dd.runtime.permission.requestAuthCode) {
    fail("无法调用钉钉免登，请点下方按钮登录。");
    return;
  }
  var data = box.dataset;
  dd.ready(function () {
    dd.runtime.permission.requestAuthCode({
      corpId: data.corpId,
      clientId: data.clientId,
      onSuccess: function (result) {
        var query = new URLSearchParams({authCode: result.code, state: data.state, via: "app"});
        window.location.replace(data.callback + "?" + query.toString());
      },
      onFail: function () {
        fail("钉钉没有给出登录码，请点下方按钮登录。");
      }
    });
  });
  if (dd.error) {
    dd.error(function () {
      fail("钉钉免登不可用，请点下方按钮登录。");
    });
  }
})();
