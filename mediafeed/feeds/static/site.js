/* mediafeed web pages: Plyr on #player when it loaded (native controls otherwise), chapter buttons that seek,
   and the copy button of a feed address. No inline script anywhere: URLs arrive in data- attributes. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function chapterButtons() {
    return Array.prototype.slice.call(document.querySelectorAll("button.chapter"));
  }

  function setupPlayer() {
    var media = document.getElementById("player");
    if (!media) {
      return null;
    }
    var player = null;
    if (typeof window.Plyr === "function") {
      try {
        var points = chapterButtons().map(function (button) {
          return { time: parseFloat(button.getAttribute("data-start")) || 0, label: button.getAttribute("data-title") || "" };
        });
        /* Captions on in the track's own language (Plyr's "auto" is the browser's "en", which never matches a track
           labelled "en-us"), and a video's box in the video's shape from the start (else the square poster's). */
        var track = media.querySelector("track[default]");
        var width = parseInt(media.getAttribute("width"), 10);
        var height = parseInt(media.getAttribute("height"), 10);
        if (width > 0 && height > 0) {
          document.documentElement.style.setProperty("--ratio", String(width / height));
        }
        player = new window.Plyr(media, {
          iconUrl: media.getAttribute("data-icon-url"),
          blankVideo: media.getAttribute("data-blank-video") || media.currentSrc || "",
          loadSprite: true,
          captions: { active: true, language: (track && track.getAttribute("srclang")) || "auto", update: false },
          ratio: width > 0 && height > 0 ? width + ":" + height : null,
          markers: { enabled: points.length > 0, points: points },
          invertTime: false,
          storage: { enabled: false },
        });
      } catch (error) {
        player = null; /* the native controls are still there */
      }
    }
    return { media: media, player: player };
  }

  function wireChapters(state) {
    chapterButtons().forEach(function (button) {
      button.addEventListener("click", function () {
        var start = parseFloat(button.getAttribute("data-start")) || 0;
        var target = state.player || state.media;
        target.currentTime = start;
        var played = target.play();
        if (played && typeof played.catch === "function") {
          played.catch(function () {});
        }
      });
    });
  }

  function wireCopy() {
    Array.prototype.slice.call(document.querySelectorAll("button.copy-feed-url")).forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-target"));
        if (!input) {
          return;
        }
        var box = button.closest(".subscribe");
        var status = box ? box.querySelector(".copy-status") : null;
        function say(text) {
          if (status) {
            status.textContent = text;
          }
        }
        input.focus();
        input.select();
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(input.value).then(
            function () { say("Copied the feed address."); },
            function () { say("Press Ctrl+C (or Cmd+C) to copy the selected address."); }
          );
        } else {
          var copied = false;
          try {
            copied = document.execCommand("copy");
          } catch (error) {
            copied = false;
          }
          say(copied ? "Copied the feed address." : "Press Ctrl+C (or Cmd+C) to copy the selected address.");
        }
      });
    });
  }

  ready(function () {
    var state = setupPlayer();
    if (state) {
      wireChapters(state);
    }
    wireCopy();
  });
})();
