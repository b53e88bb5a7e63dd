// early.js runs before anything of the page is drawn: a classic script in
// <head>, ahead of the title and the stylesheet. After "Leave quickly"
// (app.js, leaveQuickly), the history entries before the neutral page still
// lead to this address; reached by Back or Forward without a link (no token
// in the fragment), the page goes straight to the neutral one, so nothing of
// the group flashes on the screen first. app.js reads window.hearthLeaving
// and starts nothing.
(function () {
  'use strict';
  var nav = performance.getEntriesByType('navigation')[0];
  if (nav && nav.type === 'back_forward' && !/(^#|&)token=/.test(location.hash)) {
    window.hearthLeaving = true;
    location.replace('neutral.html');
  }
})();
